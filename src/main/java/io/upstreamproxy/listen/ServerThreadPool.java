package io.upstreamproxy.listen;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The listeners' thread pool, which runs a connection's resumption in place when the connection
 * never blocks, instead of waking a pool thread for it.
 *
 * <p>A proxied request finishes asynchronously: its response ends on the upstream client's
 * thread, after the thread that read the request has moved on. Jetty's HTTP/1 connection then
 * resumes reading the next request by handing itself to this pool ({@code executor.execute(this)}),
 * so every request cost a thread wake-up and a context switch (a third of the jar's scheduler
 * time in the profile, docs/benchmark.md), and the woken thread usually found nothing to read.
 * When the server's whole handler chain is non-blocking (the jar's core front end), it
 * reports {@link Invocable.InvocationType#NON_BLOCKING}, which is exactly when Jetty's selector
 * runs a connection's reads on the selecting thread itself; running the resumption on the
 * completing thread is the same choice. The resumed read does not recurse: a request it starts that
 * completes at once finds the connection still reading and returns to its loop.
 *
 * <p>The resumption reads the socket rather than only registering for reads: the client has
 * often sent its next request by then (the response reached it before the exchange ended), and
 * reading it here saves waking the selector. Registering only was tried: it tripled the futex
 * calls and context switches per request.
 *
 * <p>Anything else (a blocking handler chain, such as the servlet front end, and every other
 * task) goes to the pool as usual.
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
