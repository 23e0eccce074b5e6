package io.upstreamproxy.e2e;

import io.upstreamproxy.testing.Prerequisite;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.io.File;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The status page in a real headless Chromium (the system's, through its chromedriver) against
 * the real proxy: it lists the live servers with their health, and its buttons change servers
 * through the management API. Without Chromium the test is skipped on a workstation and fails
 * in CI ({@code CI=true}), so a broken CI image cannot pass silently.
 */
class StatusPageIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static ChromeDriverService service;
    private static WebDriver browser;
    private static Path profile;

    private Backend a;
    private Backend b;
    private RunningProxy proxy;

    @BeforeAll
    static void startBrowser() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            Prerequisite.missing("the browser test needs " + CHROMIUM + " and " + CHROMEDRIVER + " (apt-get install chromium chromium-driver)");
        }
        profile = Files.createTempDirectory("status-page-chromium");
        service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,800", "--user-data-dir=" + profile);
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stopBrowser() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (service != null) {
            service.stop();
        }
        if (profile != null) {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    @BeforeEach
    void startProxy() throws Exception {
        a = Backend.start("a");
        b = Backend.start("b");
        b.healthStatus = 503;
        proxy = RunningProxy.start("""
                { "upstreams": { "backend": {
                    "servers": [ {"server": "%s", "weight": 3}, {"server": "%s"} ],
                    "health_check": {"uri": "/health", "interval": "100ms"} } } }
                """.formatted(a.address(), b.address()));
    }

    @AfterEach
    void stopProxy() throws Exception {
        proxy.close();
        a.close();
        b.close();
    }

    private WebElement row(int id) {
        return browser.findElement(By.cssSelector("tr[data-server='backend/" + id + "']"));
    }

    private String cell(int id, String column) {
        return row(id).findElement(By.cssSelector("[data-col='" + column + "']")).getText();
    }

    private void awaitCell(int id, String column, String text) {
        new WebDriverWait(browser, WAIT).withMessage(() -> "server " + id + " column " + column + " showing \"" + text
                + "\"; the page shows: " + browser.findElement(By.tagName("body")).getText()).until(d -> {
            try {
                return cell(id, column).contains(text);
            } catch (org.openqa.selenium.NoSuchElementException | org.openqa.selenium.StaleElementReferenceException e) {
                return false;
            }
        });
    }

    private JsonObject apiServer(int id) throws Exception {
        return new ApiClient(proxy).server("backend", id);
    }

    @Test
    void listsLiveServersWithStateAndHealthAndDrainsThroughTheApi() throws Exception {
        browser.get(proxy.url("/status/"));
        awaitCell(0, "state", "up");
        awaitCell(1, "state", "unhealthy");
        awaitCell(1, "health", "status 503");
        for (int i = 0; i < 6; i++) {
            proxy.get("/"); // all to a, b is out
        }
        assertEquals(a.address(), cell(0, "server"));
        assertEquals("3", cell(0, "weight"));
        awaitCell(0, "requests", "6");
        assertTrue(browser.findElement(By.cssSelector("tr[data-server='backend/1'] .state")).getAttribute("class").contains("state-unhealthy"));
        Files.write(Path.of("target", "status-page.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));

        b.healthStatus = 200; // the page follows live changes
        awaitCell(1, "state", "up");
        awaitCell(1, "health", "passed");

        row(1).findElement(By.cssSelector("button[data-action='drain']")).click();
        Http.await("server 1 drained in the API", WAIT, () -> field(1, "drain"));
        assertEquals("draining", apiServer(1).get("state").getAsString());
        awaitCell(1, "state", "draining");
        awaitCell(1, "actions", "Undrain");

        row(1).findElement(By.cssSelector("button[data-action='drain']")).click();
        Http.await("server 1 undrained in the API", WAIT, () -> !field(1, "drain"));
        awaitCell(1, "state", "up");
    }

    @Test
    void listsTheRoutesWithTheirConditionsActionAndCounts() throws Exception {
        browser.get(proxy.url("/status/"));
        for (int i = 0; i < 3; i++) {
            proxy.get("/");
        }
        By requests = By.cssSelector("tr[data-route='0'] [data-col='requests']");
        new WebDriverWait(browser, WAIT).withMessage(() -> "route 0 with 3 requests; the page shows: "
                + browser.findElement(By.tagName("body")).getText()).until(d -> {
            try {
                return d.findElement(requests).getText().equals("3");
            } catch (org.openqa.selenium.NoSuchElementException | org.openqa.selenium.StaleElementReferenceException e) {
                return false;
            }
        });
        assertEquals("path /", browser.findElement(By.cssSelector("tr[data-route='0'] [data-col='match']")).getText());
        assertEquals("→ backend", browser.findElement(By.cssSelector("tr[data-route='0'] [data-col='action']")).getText());
    }

    @Test
    void downingTheLastAvailableServerAsksFirstThenForces() throws Exception {
        browser.get(proxy.url("/status/"));
        awaitCell(1, "state", "unhealthy"); // b fails its check: a is the last available server
        row(0).findElement(By.cssSelector("button[data-action='down']")).click();
        String question = new WebDriverWait(browser, WAIT).until(ExpectedConditions.alertIsPresent()).getText();
        assertTrue(question.contains("Do it anyway?"), question);
        browser.switchTo().alert().accept();
        Http.await("server 0 down in the API", WAIT, () -> field(0, "down"));
        awaitCell(0, "state", "down");
        awaitCell(0, "actions", "Up");
        assertFalse(field(0, "drain"));
    }

    @Test
    void withATokenThePageOpenedWithItListsAndDrains() throws Exception {
        proxy.close();
        proxy = RunningProxy.start("""
                { "upstreams": { "backend": { "servers": [ {"server": "%s"}, {"server": "%s"} ] } },
                  "api": {"allow": ["127.0.0.1"], "deny": ["all"], "token": "s3cret-token"} }
                """.formatted(a.address(), b.address()));
        // As an operator would: the token as the Basic password (any user name). The browser
        // keeps it for the realm and sends it with the page's API calls too.
        browser.get("http://ops:s3cret-token@127.0.0.1:" + proxy.port() + "/status/");
        awaitCell(1, "state", "up");
        assertFalse(browser.findElement(By.id("token-form")).isDisplayed());

        row(1).findElement(By.cssSelector("button[data-action='drain']")).click();
        Http.await("server 1 drained in the API", WAIT, () -> {
            try {
                var r = Http.send(HttpRequest.newBuilder(URI.create(proxy.url("/api/upstreams/backend/servers/1")))
                        .header("Authorization", "Bearer s3cret-token"));
                return JsonParser.parseString(r.body()).getAsJsonObject().get("drain").getAsBoolean();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    @Test
    void aNameThatCannotBeResolvedShowsBesideItsUpstream() throws Exception {
        proxy.close();
        proxy = RunningProxy.start("""
                { "resolver": "127.0.0.1:%d",
                  "upstreams": { "backend": { "servers": [ {"server": "%s"} ] },
                                 "named": { "resolve": "1s", "servers": [ {"server": "web.test:80"} ] } },
                  "routes": [ {"path": "/", "upstream": "backend"} ] }
                """.formatted(Backend.deadPort(), a.address()));
        browser.get(proxy.url("/status/"));
        By summary = By.cssSelector("section[data-upstream='named'] .summary");
        new WebDriverWait(browser, WAIT).withMessage(() -> "the DNS failure beside upstream named; the page shows: "
                + browser.findElement(By.tagName("body")).getText()).until(d -> {
            try {
                return d.findElement(summary).getText().contains("DNS web.test:80: ");
            } catch (org.openqa.selenium.NoSuchElementException e) {
                return false;
            }
        });
        assertTrue(browser.findElement(summary).getText().contains("(keeping no address)"), browser.findElement(summary).getText());
    }

    /** The requests/s area of server {@code id}'s graph ("" while it has fewer than two points). */
    private String graphPoints(String rowSelector) {
        try {
            return browser.findElement(By.cssSelector(rowSelector + " svg.spark polygon.rps")).getAttribute("points");
        } catch (org.openqa.selenium.NoSuchElementException | org.openqa.selenium.StaleElementReferenceException e) {
            return "";
        }
    }

    /** Waits for {@code condition}, sending a request through the proxy at every poll (traffic while the page watches). */
    private void awaitWithTraffic(String what, java.util.function.BooleanSupplier condition) {
        new WebDriverWait(browser, Duration.ofSeconds(20)).withMessage(() -> what + "; the page shows: "
                + browser.findElement(By.tagName("body")).getText()).until(d -> {
            try {
                proxy.get("/");
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            return condition.getAsBoolean();
        });
    }

    @Test
    void graphsRatesAndLatencyWithTotalsClockAndSorting() throws Exception {
        browser.get(proxy.url("/status/"));
        awaitCell(0, "state", "up");
        new WebDriverWait(browser, WAIT).until(d -> d.findElement(By.cssSelector("section[data-upstream='backend'] .balancer"))
                .getText().equals("round-robin"));
        String clock = browser.findElement(By.id("clock")).getText();
        assertTrue(clock.matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d .*\\(UTC[+-]\\d\\d:\\d\\d\\)"), clock);

        String server0 = "tr[data-server='backend/0']";
        awaitWithTraffic("server 0's graph and rate after traffic", () -> !graphPoints(server0).isEmpty()
                && !cell(0, "rps").isEmpty() && Double.parseDouble(cell(0, "rps")) > 0);
        String before = graphPoints(server0);
        awaitWithTraffic("server 0's graph moving", () -> !graphPoints(server0).isEmpty() && !graphPoints(server0).equals(before));
        assertTrue(Double.parseDouble(cell(0, "latency")) > 0, cell(0, "latency"));
        assertTrue(cell(0, "bytes").endsWith(" B") || cell(0, "bytes").contains("KiB"), cell(0, "bytes"));
        assertTrue(cell(1, "state").matches("(?s)unhealthy\\s*≥? ?\\d+s"), "time in the state: " + cell(1, "state"));

        WebElement totals = browser.findElement(By.cssSelector("tr[data-totals='backend']"));
        assertEquals("total", totals.findElement(By.cssSelector("[data-col='server']")).getText());
        awaitWithTraffic("the upstream's graph", () -> !graphPoints("tr[data-totals='backend']").isEmpty());
        assertEquals(cell(0, "active"), totals.findElement(By.cssSelector("[data-col='active']")).getText());
        assertTrue(totals.findElement(By.cssSelector("[data-col='health']")).getText().matches("\\d+\\.\\d+ 5xx/s"),
                totals.getText());

        browser.findElement(By.cssSelector("section[data-upstream='backend'] th[data-col='id']")).click(); // ascending
        browser.findElement(By.cssSelector("section[data-upstream='backend'] th[data-col='id']")).click(); // descending
        new WebDriverWait(browser, WAIT).until(d -> d.findElement(By.cssSelector("section[data-upstream='backend'] tbody tr"))
                .getAttribute("data-server").equals("backend/1"));
        Files.write(Path.of("target", "status-page-graphs.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    }

    private boolean field(int id, String name) {
        try {
            return apiServer(id).get(name).getAsBoolean();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
