package io.upstreamproxy.proxy;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.eclipse.jetty.client.AsyncRequestContent;
import org.eclipse.jetty.util.IteratingCallback;

/**
 * Streams a request body (chunked, or larger than {@code proxy.buffer_body}) to the server as it
 * arrives, without blocking: as Jetty's {@code AsyncProxyServlet.StreamReader}, it reads only
 * after the previous piece was handed on, so a slow server slows the client (one buffer per
 * request), and a slow client holds no thread. Counts bytes against {@code max_body_size}.
 */
final class StreamedBody extends IteratingCallback implements ReadListener {
    private static final int BUFFER = 8192;

    private final ServletInputStream in;
    private final AsyncRequestContent content;
    private final long maxBytes;
    private final Runnable complete;
    private final Consumer<Throwable> failed;
    private byte[] buffer;
    private long total;
    private Throwable clientError; // a failure of the client's side, as opposed to the upstream's

    /** {@code maxBytes} 0: unlimited; {@code complete} runs once the whole body was read. */
    StreamedBody(ServletInputStream in, AsyncRequestContent content, long maxBytes, Runnable complete, Consumer<Throwable> failed) {
        this.in = in;
        this.content = content;
        this.maxBytes = maxBytes;
        this.complete = complete;
        this.failed = failed;
    }

    @Override
    public void onDataAvailable() {
        iterate();
    }

    @Override
    public void onAllDataRead() {
        content.close();
        complete.run();
    }

    @Override
    public void onError(Throwable t) {
        failed.accept(t);
    }

    @Override
    protected Action process() throws Exception {
        while (in.isReady()) {
            if (buffer == null) {
                buffer = new byte[BUFFER]; // only once the client sends: an idle upload holds none
            }
            int n;
            try {
                n = in.read(buffer);
                total += Math.max(0, n);
                if (maxBytes > 0 && total > maxBytes) {
                    throw new Fault.BodyTooLarge(maxBytes);
                }
            } catch (Exception e) {
                clientError = e;
                throw e;
            }
            if (n > 0) {
                content.write(ByteBuffer.wrap(buffer, 0, n), this);
                return Action.SCHEDULED;
            }
            if (n < 0) {
                return Action.SUCCEEDED;
            }
        }
        return Action.IDLE;
    }

    /**
     * Only the client's failures are reported: when the upstream request fails, the content's
     * write callback fails too, and that failure is the response listener's to handle.
     */
    @Override
    protected void onCompleteFailure(Throwable cause) {
        if (cause == clientError) {
            failed.accept(cause);
        }
    }
}
