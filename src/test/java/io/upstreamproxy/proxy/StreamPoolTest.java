package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.upstreamproxy.config.HostPort;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.junit.jupiter.api.Test;

/** How requests share HTTP/2 connections: a fake connector opens them when the test says. */
class StreamPoolTest {
    private final List<Promise<Session>> connects = new ArrayList<>();
    private final List<Session.Listener> listeners = new ArrayList<>();
    private final StreamClient.Limit limit = new StreamClient.Limit();
    private int maxConnections;
    private final StreamPool pool = new StreamPool((key, l, done) -> {
        listeners.add(l);
        connects.add(done);
    }, new StreamClient.Key(HostPort.parse("127.0.0.1:9001"), null), limit, () -> maxConnections, () -> 1);

    /** A session that is only ever handed around. */
    private static final Session SESSION = (Session) Proxy.newProxyInstance(Session.class.getClassLoader(), new Class<?>[] {Session.class},
            (proxy, method, args) -> method.getName().equals("isClosed") ? false : null);

    /** A request waiting for a place: what it got. */
    private static final class Request implements StreamPool.Waiter {
        StreamPool.Conn conn;
        Throwable failure;

        @Override
        public void onSession(StreamPool.Conn c) {
            conn = c;
        }

        @Override
        public void onNoSession(Throwable f) {
            failure = f;
        }
    }

    /** The server accepts connection {@code i} and sends its first SETTINGS ({@code maxStreams} null: no limit). */
    private void open(int i, Integer maxStreams) {
        connects.get(i).succeeded(SESSION);
        java.util.Map<Integer, Integer> settings = new java.util.HashMap<>();
        if (maxStreams != null) {
            settings.put(SettingsFrame.MAX_CONCURRENT_STREAMS, maxStreams);
        }
        listeners.get(i).onSettings(SESSION, new SettingsFrame(settings, false));
    }

    private Request acquire() {
        Request r = new Request();
        pool.acquire(r);
        return r;
    }

    @Test
    void opensAnotherConnectionOnlyWhenEveryOneIsFull() {
        limit.streams = 2;
        Request a = acquire();
        Request b = acquire();
        Request c = acquire();
        assertEquals(2, connects.size(), "a and b wait for the first connection, c opens the second");
        open(0, null);
        open(1, null);
        assertSame(a.conn, b.conn);
        assertSame(SESSION, c.conn.session());
        assertArrayEquals(new int[] {2, 3, 0}, pool.counts());
        a.conn.release();
        Request d = acquire();
        assertSame(b.conn, d.conn, "the freed place on the first connection");
        assertEquals(2, connects.size());
    }

    @Test
    void atTheConnectionLimitRequestsQueueForTheNextFreedPlace() {
        limit.streams = 1;
        maxConnections = 1;
        Request a = acquire();
        Request b = acquire();
        Request c = acquire();
        assertInstanceOf(RejectedExecutionException.class, c.failure, "one may queue (max_queued_per_server 1)");
        open(0, null);
        assertNull(b.conn);
        a.conn.release();
        assertSame(a.conn, b.conn);
        assertArrayEquals(new int[] {1, 1, 0}, pool.counts());
    }

    @Test
    void aConnectionTheServerClosedTakesNoNewStreamsAndQueuedRequestsGetANewOne() {
        limit.streams = 1;
        maxConnections = 1;
        Request a = acquire();
        open(0, null);
        Request b = acquire(); // queued: the one connection is full
        listeners.get(0).onClose(SESSION, null, Callback.NOOP);
        assertEquals(2, connects.size(), "a new connection for the queued request");
        open(1, null);
        assertSame(SESSION, b.conn.session());
        assertEquals(1, pool.counts()[0]);
        a.conn.release(); // a's stream ends on the closed connection: nothing more goes there
        assertArrayEquals(new int[] {1, 1, 0}, pool.counts());
    }

    @Test
    void aFailedConnectFailsEveryRequestWaitingForIt() {
        limit.streams = 5;
        Request a = acquire();
        Request b = acquire();
        IOException refused = new IOException("refused");
        connects.get(0).failed(refused);
        assertSame(refused, a.failure);
        assertSame(refused, b.failure);
        assertArrayEquals(new int[] {0, 0, 0}, pool.counts());
        acquire();
        assertEquals(2, connects.size(), "the next request tries again");
    }

    @Test
    void aServerThatTakesFewerStreamsGetsNoMoreThanItsSettingsSay() {
        limit.streams = 100;
        Request a = acquire();
        Request b = acquire();
        Request c = acquire();
        assertEquals(1, connects.size(), "all three wait for the first connection");
        connects.get(0).succeeded(SESSION);
        assertNull(a.conn, "not before the server's SETTINGS");
        java.util.Map<Integer, Integer> two = new java.util.HashMap<>();
        two.put(SettingsFrame.MAX_CONCURRENT_STREAMS, 2);
        listeners.get(0).onSettings(SESSION, new SettingsFrame(two, false));
        assertSame(a.conn, b.conn);
        assertNull(c.conn, "the third goes round again: a new connection");
        assertEquals(2, connects.size());
        open(1, 2);
        assertSame(SESSION, c.conn.session());
        assertArrayEquals(new int[] {2, 3, 0}, pool.counts());
    }

    @Test
    void aConnectionClosedBeforeItsSettingsFailsItsWaitersAsNotSent() {
        Request a = acquire();
        connects.get(0).succeeded(SESSION);
        listeners.get(0).onClose(SESSION, null, Callback.NOOP);
        assertInstanceOf(OriginStream.NotSent.class, a.failure, "never sent: it may go to another server");
        assertArrayEquals(new int[] {0, 0, 0}, pool.counts());
    }
}
