package io.upstreamproxy.listen;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The listeners' thread pool, which runs a connection's resumption in place when the server
 * never blocks, instead of waking a pool thread for it.
 *
 * <p>A proxied request finishes asynchronously: its response ends on the upstream client's
 * thread, after the thread that read the request has moved on. Jetty's HTTP/1 connection then
 * resumes reading the next request by handing itself to this pool ({@code executor.execute(this)}):
 * one thread wake-up and context switch per request, 15% of the jar's CPU samples in the
 * profile (docs/benchmark.md). When the server's whole handler chain is non-blocking (the jar's
 * core front end), it reports {@link Invocable.InvocationType#NON_BLOCKING}, which is exactly
 * when Jetty's selector runs a connection's reads on the selecting thread itself; running the
 * resumption on the completing thread is the same choice. The resumed read does not recurse: a
 * request it starts that completes at once finds the connection still reading, and returns to
 * its loop. What that loop costs the thread is what it costs a selector thread in Jetty's own
 * non-blocking mode: requests answered at once and pipelined behind one another are served
 * there until the client's bytes run out.
 *
 * <p>The resumption reads the socket rather than only registering for reads: the client has
 * usually sent its next request by then (the response reached it before the exchange ended),
 * and reading it here saves waking the selector. Registering only was tried: futex calls went
 * from 0.05 to 2.6 per request and context switches from 0.6 to 1.6.
 *
 * <p>Anything else (a blocking handler chain, such as the servlet front end, and every other
 * task) goes to the pool as usual. Jetty's HTTP/1 connection is recognised by what it is, a
 * {@code Connection} that is also its {@code ConnectionMetaData}; {@code ServerThreadPoolTest}
 * and {@code KeepAliveTest} fail if a Jetty upgrade changes how it resumes.
 */
public final class ServerThreadPool extends QueuedThreadPool {

    public ServerThreadPool(int maxThreads, int minThreads) {
        super(maxThreads, minThreads);
        setName("upstream-proxy");
    }

    @Override
    public void execute(Runnable task) {
        if (task instanceof Connection && task instanceof ConnectionMetaData connection
                && connection.getConnector().getServer().getInvocationType() == Invocable.InvocationType.NON_BLOCKING) {
            task.run();
            return;
        }
        super.execute(task);
    }
}
