package memmap.itest;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The web console in a real browser: the runtime started as a user starts it (on any free
 * port), memory mapped through its shell, the memmap page opened in headless Chromium, and what
 * the page shows checked against what was mapped; the health checks through the shell and on
 * their page. A screenshot is left in target/ for people to look at.
 */
class WebConsoleTest {
    private static final Pattern CONSOLE = Pattern.compile("web console: http://(127\\.0\\.0\\.1:\\d+)/system/console/memmap");

    /** The request the configuration form makes (POST to configMgr/PID): the form's JSON, or a save with {@code body}. */
    private static String configManager(String host, String pid, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + host + "/system/console/configMgr/" + pid))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("admin:admin".getBytes(StandardCharsets.UTF_8)))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body))
                .timeout(Duration.ofSeconds(60)).build();
        try (HttpClient client = HttpClient.newHttpClient()) {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            assertTrue(r.statusCode() == 200 || r.statusCode() == 302, "configMgr/" + pid + " answered " + r.statusCode() + ": " + r.body());
            return r.body();
        }
    }

    @Test
    void thePageShowsWhatTheShellMapped() throws Exception {
        try (LiveRuntime rt = new LiveRuntime(List.of("-Dorg.osgi.service.http.port=0", "-Dmemmap.log.console.level=INFO"))) {
            String host = rt.awaitMatch(CONSOLE, "the console log saying where the web console is");
            rt.type("space");
            rt.type("a = (mmap 1 64K)");
            rt.type("b = (mmap --private --perms r 1 16K)");
            rt.type("s = (shmget --create 0x1234 8K)");
            rt.type("echo \"MAPPED a=$a b=$b s=$s\"");
            Matcher m = Pattern.compile("MAPPED a=(0x[0-9a-f]+) b=(0x[0-9a-f]+) s=shmid (\\d+)").matcher(
                    rt.await(o -> o.contains("MAPPED a=0x"), "the mappings' addresses"));
            assertTrue(m.find(), rt.output());
            String a = m.group(1);
            String b = m.group(2);
            String page = "http://admin:admin@" + host + "/system/console/memmap";
            String dom = Chromium.dom(page);

            assertTrue(dom.contains("<h3 id=\"memmap-space-1\">Address space 1</h3>"), dom);
            assertTrue(Pattern.compile("<rect class=\"vma anonymous\" data-start=\"" + a + "\" data-end=\"0x[0-9a-f]+\" data-perms=\"rw-s\"[^>]*>"
                    + "<title>" + a.substring(2) + "-[0-9a-f]+ rw-s ").matcher(dom).find(), "the shared mapping, writable, hover text its maps line:\n" + dom);
            assertTrue(dom.contains("data-start=\"" + b + "\"") && Pattern.compile("data-start=\"" + b + "\"[^>]*data-perms=\"r--p\"[^>]*fill-opacity=\"0.55\"[^>]*"
                    + "stroke-dasharray=\"3,2\"").matcher(dom).find(), "the private read-only mapping, lighter and dashed:\n" + dom);
            for (String kind : new String[] {"anonymous", "hostfile", "shm"}) {
                assertTrue(Pattern.compile("<tr class=\"provider serving[^\"]*\"><td>" + kind + "</td>").matcher(dom).find(), kind + " is served:\n" + dom);
            }
            assertTrue(dom.contains("<td>0x00001234</td><td>" + m.group(3) + "</td>"), "the System V segment as ipcs lists it:\n" + dom);
            assertTrue(dom.contains("<svg class=\"memmap-usage\""), "the usage chart:\n" + dom);
            Chromium.screenshot(page, Path.of(Framework.context().getProperty("memmap.itest.target"), "webconsole-memmap.png"), 1280, 1100);

            // Configuration: every memmap setting has its form (Metatype), and a value saved through it applies live.
            String cfg = Chromium.dom("http://admin:admin@" + host + "/system/console/configMgr");
            for (String name : new String[] {"memmap address spaces", "memmap anonymous memory", "memmap memory file", "memmap host files",
                    "memmap shared memory", "memmap fallback: direct", "memmap fallback: bounce", "memmap console log", "memmap health checks",
                    "memmap web console"}) {
                assertTrue(cfg.contains(name), name + " on the configuration page:\n" + cfg);
            }
            String form = configManager(host, "memmap.mm", "");
            assertTrue(form.contains("\"providerWaitMillis\":{\"name\":\"Provider wait\""), "the form has the setting as Metatype names it: " + form);
            int saved = rt.output().length();
            configManager(host, "memmap.anon.provider", "apply=true&action=ajaxConfigManager&propertylist=fillAhead,populate&fillAhead=8192&populate=true");
            rt.await(o -> o.indexOf("reconfigured: fillAhead=8192 populate=true", saved) >= 0, "the saved setting applied");
            configManager(host, "memmap.anon.provider", "apply=true&action=ajaxConfigManager&propertylist=fillAhead,populate&fillAhead=3&populate=true");
            rt.await(o -> Pattern.compile("fillAhead = \"?3\"? rejected: must be a power of two").matcher(o.substring(saved)).find(),
                    "the bad value rejected by name");

            // Health: OK through the shell and on the health checks' page; hostfile CRITICAL once its provider is disabled.
            rt.type("hc:exec memmap");
            String ok = rt.await(o -> o.contains("Overall Health Result"), "hc:exec's result");
            assertTrue(ok.contains("Overall Health Result: OK"), ok);
            String hc = Chromium.dom("http://admin:admin@" + host + "/system/console/healthcheck?tags=memmap");
            for (String name : new String[] {"memmap anonymous", "memmap hostfile", "memmap shm"}) {
                assertTrue(hc.contains(name), name + " on the health checks' page:\n" + hc);
            }
            assertFalse(hc.contains("CRITICAL"), hc);
            int before = rt.output().length();
            rt.type("scr:disable memmap.hostfile.internal.HostFileProvider");
            // scr:disable returns before the component is gone (SCR disables asynchronously): wait until the address spaces say so.
            rt.await(o -> o.indexOf("hostfile now served by none", before) >= 0, "the hostfile provider unbound");
            rt.type("hc:exec memmap");
            String critical = rt.await(o -> o.indexOf("Overall Health Result", before) >= 0, "hc:exec's result without a hostfile provider")
                    .substring(before);
            assertTrue(critical.contains("Overall Health Result: CRITICAL"), critical);
            assertTrue(Pattern.compile("memmap hostfile\\s+CRITICAL").matcher(critical).find(), critical);
            assertTrue(Pattern.compile("memmap anonymous\\s+OK").matcher(critical).find(), critical);
        }
    }
}
