package io.upstreamproxy.proxy;

import io.upstreamproxy.upstream.Clock;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The access log's writer: request threads only queue an {@link AccessLog.Entry}; one daemon
 * thread formats the lines and writes them in batches. An idle log writes a line at once; a busy
 * one writes what gathered every 20 ms, one system call for many lines, and the request threads
 * never wake the writer.
 *
 * <p>The queue takes no lock: an {@code ArrayBlockingQueue}'s lock, taken by every request on
 * both event loops, was 2.6% of the jar's CPU under load (async-profiler). The writer, when it
 * has nothing to write, says so ({@link #sleeping}) and parks; a request that queues a line
 * then wakes it.
 *
 * <p>Why: written through the SLF4J logger, each line was a synchronized, unbuffered write to
 * stderr on the request's thread; at 50 connections the request threads queued on that lock
 * (the most contended monitor in the JFR profile) and paid one system call per request.
 *
 * <p>What it costs: when the output cannot keep up, entries beyond the queue are dropped rather
 * than stalling requests; the number dropped is written to the log as soon as there is room
 * again, so a gap is never silent. Lines are formatted by an {@link AccessLogFormat}
 * on this thread, stamped with the UTC time the request ended.
 */
final class AsyncAccessLog implements AccessLog {
    static final int DEFAULT_QUEUE = 16_384;
    private static final int BATCH = 512;
    private static final long LINGER_MILLIS = 20;

    private final OutputStream out;
    private final Clock clock;
    private final AccessLogFormat format; // writer thread only
    private final int capacity;
    private final ConcurrentLinkedQueue<Entry> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger(); // entries in the queue, at most capacity
    private final AtomicLong dropped = new AtomicLong();       // since the last notice in the log
    private final LongAdder droppedTotal = new LongAdder();    // since start
    private final Thread writer;
    private volatile boolean closed;
    private final long idleParkNanos;
    private volatile boolean sleeping; // the writer is parked, or about to: a new line wakes it

    AsyncAccessLog(OutputStream out, Clock clock, int capacity, AccessLogFormat format) {
        this(out, clock, capacity, format, TimeUnit.SECONDS.toNanos(1));
    }

    /** {@code idleParkNanos}: how long an idle writer parks before it looks again unwoken (tests: forever). */
    AsyncAccessLog(OutputStream out, Clock clock, int capacity, AccessLogFormat format, long idleParkNanos) {
        this.idleParkNanos = idleParkNanos;
        this.out = out;
        this.clock = clock;
        this.format = format;
        this.capacity = capacity;
        this.writer = new Thread(this::run, "upstream-proxy-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    @Override
    public void log(Entry entry) {
        if (queued.incrementAndGet() > capacity) {
            queued.decrementAndGet();
            dropped.incrementAndGet();
            droppedTotal.increment();
            return;
        }
        queue.offer(entry);
        if (sleeping) {
            LockSupport.unpark(writer);
        }
    }

    @Override
    public void reopen() {
        if (out instanceof ReopenableFile f) {
            f.reopen();
        }
    }

    @Override
    public long dropped() {
        return droppedTotal.sum();
    }

    @Override
    public void close() {
        closed = true;
        writer.interrupt();
        try {
            writer.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (out instanceof ReopenableFile f) {
            try {
                f.close();
            } catch (IOException e) {
                // closing at shutdown: nothing left to tell
            }
        }
    }

    private void run() {
        List<Entry> batch = new ArrayList<>(BATCH);
        StringBuilder text = new StringBuilder(BATCH * 96);
        while (true) {
            if (queue.isEmpty() && !closed) {
                sleeping = true; // then look again: a line queued before this was seen wakes nobody
                if (queue.isEmpty() && !closed) {
                    LockSupport.parkNanos(idleParkNanos); // idle: the next line wakes us
                }
                sleeping = false;
            }
            for (Entry e; (e = queue.poll()) != null; ) {
                batch.add(e);
            }
            queued.addAndGet(-batch.size());
            long lost = dropped.getAndSet(0);
            if (batch.isEmpty() && lost == 0) {
                if (closed) {
                    return;
                }
                continue;
            }
            text.setLength(0);
            for (Entry e : batch) {
                format.append(text, e);
                text.append('\n');
            }
            if (lost > 0) {
                format.iso(text, clock.wallMillis());
                text.append(" access log: ").append(lost).append(" line(s) dropped, the output could not keep up\n");
            }
            batch.clear();
            try {
                out.write(text.toString().getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                // stderr closed or full disk: nothing better to tell it to; keep serving requests
            }
            linger();
        }
    }

    /**
     * After a write, let lines gather for a moment: a busy proxy then pays one write per
     * {@link #LINGER_MILLIS} and never wakes this thread per request (while it sleeps, queueing
     * a line signals nobody).
     */
    private void linger() {
        if (closed) {
            return;
        }
        try {
            Thread.sleep(LINGER_MILLIS);
        } catch (InterruptedException e) {
            // close(): write what is queued, then stop
        }
    }
}
