package io.upstreamproxy.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The log check the container tests rely on, on lines from real Tomcat 10.1 and Jetty 12 logs (webapp without a config). */
class ContainerLogTest {

    @Test
    void flagsTomcatFailingToStartOurListener() {
        // Tomcat's console says only this much; the exception itself goes to logs/localhost.*.log.
        assertTrue(ContainerLog.isProblem("21-Nov-2026 16:01:18.955 SEVERE [main] org.apache.catalina.core.StandardContext.startInternal"
                + " One or more listeners failed to start. Full details will be found in the appropriate container log file"));
        assertTrue(ContainerLog.isProblem("21-Nov-2026 16:01:19.060 SEVERE [main] org.apache.catalina.core.StandardContext.startInternal"
                + " Context [/lb] startup failed due to previous errors"));
        assertTrue(ContainerLog.isProblem("21-Nov-2026 16:01:18.877 SEVERE [main] org.apache.catalina.core.StandardContext.listenerStart"
                + " Exception sending context initialized event to listener instance of class [io.upstreamproxy.web.UpstreamProxyListener]"));
    }

    @Test
    void flagsJettyFailingToStartOurWebapp() {
        assertTrue(ContainerLog.isProblem("2026-11-21 16:01:38.587:WARN :oeje10w.WebAppContext:main: Failed startup of context"
                + " oeje10w.WebAppContext@62010f5c{upstream-proxy,/lb,b=file:///tmp/jetty-127_0_0_1-43741-upstream-proxy_war-_lb-any-33/webapp/,"
                + "a=AVAILABLE,h=oeje10s.SessionHandler@51fadaff{STARTED}}{/work/target/upstream-proxy.war}"));
    }

    @Test
    void flagsErrorsOfOurLoggersInJettysCondensedForm() {
        assertTrue(ContainerLog.isProblem("2026-11-21 15:56:11.704:ERROR:iup.UpstreamProxyServlet:qtp-12: cannot send"));
        assertTrue(ContainerLog.isProblem("2026-11-21 15:56:11.704:WARN :iuw.UpstreamProxyListener:main: state file unreadable"));
    }

    @Test
    void flagsOurExceptionsAndStackFrames() {
        assertTrue(ContainerLog.isProblem("java.lang.IllegalStateException: upstream-proxy: no configuration: set the context parameter"));
        assertTrue(ContainerLog.isProblem("\tat io.upstreamproxy.web.UpstreamProxyListener.locateConfig(UpstreamProxyListener.java:73)"));
        assertTrue(ContainerLog.isProblem("\t\tat io.upstreamproxy.web.UpstreamProxyListener.contextInitialized(UpstreamProxyListener.java:41)"));
    }

    @Test
    void flagsTomcatReportingThreadsOurWebappLeaked() {
        assertTrue(ContainerLog.isProblem("21-Nov-2026 15:55:44.400 WARNING [main] org.apache.catalina.loader.WebappClassLoaderBase.clearReferencesThreads"
                + " The web application [lb] appears to have started a thread named [HttpClient@1a2b-scheduler-1] but has failed to stop it."));
    }

    @Test
    void passesOurInfoLinesAndOtherComponentsTrouble() {
        assertFalse(ContainerLog.isProblem("2026-11-21 15:55:41.584:INFO :iuw.UpstreamProxyListener:main: upstream-proxy ready: 1 upstream(s),"
                + " 1 route(s), config /tmp/upstream-proxy-it/cfg.json"));
        assertFalse(ContainerLog.isProblem("21-Nov-2026 15:54:23 PM org.apache.catalina.core.AprLifecycleListener init SEVERE: An incompatible"
                + " version [1.2.35] of the Apache Tomcat Native library is installed"));
        assertFalse(ContainerLog.isProblem("\tat org.apache.catalina.core.StandardContext.startInternal(StandardContext.java:4652)"));
        assertFalse(ContainerLog.isProblem("21-Nov-2026 16:01:19.059 WARNING [main] org.apache.catalina.util.SessionIdGeneratorBase.createSecureRandom"
                + " Creation of SecureRandom instance for session ID generation using [SHA1PRNG] took [102] milliseconds."));
    }

    @Test
    void listsOnlyTheProblemLinesOfALog() {
        String log = """
                2026-11-21 15:55:41.584:INFO :iuw.UpstreamProxyListener:main: upstream-proxy ready: 1 upstream(s)
                2026-11-21 15:56:11.550:WARN :oejw.WebAppContext:main: Failed startup of context oeje10w.WebAppContext@1{upstream-proxy,/lb}
                java.lang.IllegalStateException: upstream-proxy: cannot read the configuration /nope.json
                \tat io.upstreamproxy.web.UpstreamProxyListener.locateConfig(UpstreamProxyListener.java:77)
                \tat org.eclipse.jetty.ee10.servlet.ServletContextHandler.startContext(ServletContextHandler.java:1100)
                """;
        assertEquals(3, ContainerLog.problems(log).size(), () -> String.join("\n", ContainerLog.problems(log)));
    }
}
