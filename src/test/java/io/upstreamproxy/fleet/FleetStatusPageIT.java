package io.upstreamproxy.fleet;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.HeadlessChromium;
import io.upstreamproxy.testing.RunningProxy;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The status page's fleet section in a real browser: the live instances in fleet mode, nothing without it. */
class FleetStatusPageIT {
    @TempDir
    Path dir;

    @Test
    void showsTheLiveInstancesInFleetModeAndNothingWithout() throws Exception {
        try (HeadlessChromium chromium = HeadlessChromium.start(); EtcdCluster etcd = EtcdCluster.start(1);
             Backend x = Backend.start("x");
             RunningProxy a = FleetIT.joined(RunningProxy.start(FleetIT.config("a", dir.resolve("a.json"), etcd.endpointsJson(), "/page/", x.address())));
             RunningProxy b = FleetIT.joined(RunningProxy.start(FleetIT.config("b", dir.resolve("b.json"), etcd.endpointsJson(), "/page/", x.address())));
             RunningProxy single = RunningProxy.start("{\"upstreams\": {\"backend\": {\"servers\": [{\"server\": \"" + x.address() + "\"}]}}}")) {
            chromium.browser.get(a.url("/status/"));
            new WebDriverWait(chromium.browser, Duration.ofSeconds(10))
                    .withMessage(() -> "the fleet section listing a and b; the page shows: " + chromium.browser.findElement(By.tagName("body")).getText())
                    .until(d -> d.findElement(By.id("fleet")).isDisplayed()
                            && d.findElements(By.cssSelector("#fleet tr[data-instance='a']")).size() == 1
                            && d.findElements(By.cssSelector("#fleet tr[data-instance='b']")).size() == 1
                            && d.findElement(By.cssSelector("#fleet .summary")).getText().contains("etcd connected"));

            int hits = x.hits.get();
            chromium.browser.get(single.url("/status/"));
            new WebDriverWait(chromium.browser, Duration.ofSeconds(10))
                    .until(d -> d.findElements(By.cssSelector("tr[data-server='backend/0']")).size() == 1);
            assertFalse(chromium.browser.findElement(By.id("fleet")).isDisplayed(), "no fleet section without fleet mode");
            org.junit.jupiter.api.Assertions.assertEquals(hits, x.hits.get(), "the page asked nothing that reached a backend");
        }
    }
}
