package io.upstreamproxy.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.JsonFields;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README and docs/ stand alone and stay true to the code: every relative link (and its
 * anchor) resolves inside the repository, every config key the loader reads is in
 * docs/configuration.md, and every complete example config loads.
 */
class DocsTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path CONFIGURATION = ROOT.resolve("docs/configuration.md");
    private static final Pattern LINK = Pattern.compile("!?\\[[^\\]]*\\]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
    private static final Pattern FENCE = Pattern.compile("(?ms)^\\s*```.*?^\\s*```[^\\n]*$");
    private static final Pattern CODE_SPAN = Pattern.compile("`[^`\\n]*`");
    private static final Pattern JSON_BLOCK = Pattern.compile("(?ms)^```json\\s*\\n(.*?)^```");
    private static final Pattern HEADING = Pattern.compile("(?m)^#{1,6}\\s+(.+?)\\s*#*\\s*$");

    /**
     * Sources that mention {@link JsonFields} but read no config keys: the helper and the parser
     * themselves, API bodies, the state file and its etcd form (fleet mode's keys, fleet.md).
     * Their keys belong in api.md, operations.md and fleet.md.
     */
    private static final Set<String> NOT_CONFIG = Set.of("JsonFields.java", "ConfigJson.java", "ServerPatch.java",
            "UpstreamApiServlet.java", "StateCodec.java", "EtcdKeys.java");

    @Test
    void everyRelativeLinkInReadmeAndDocsResolvesInsideTheRepository() throws IOException {
        List<String> broken = new ArrayList<>();
        for (Path doc : docs()) {
            String text = withoutCode(Files.readString(doc));
            Matcher m = LINK.matcher(text);
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("(?i)[a-z][a-z0-9+.-]*:.*")) {
                    continue; // http:, https:, mailto: ...
                }
                String problem = check(doc, target);
                if (problem != null) {
                    broken.add(ROOT.relativize(doc) + ": (" + target + ") " + problem);
                }
            }
        }
        assertEquals(List.of(), broken, "broken links");
    }

    @Test
    void docsNameNoFileOutsideTheRepository() throws IOException {
        for (Path doc : docs()) {
            String text = Files.readString(doc);
            assertFalse(text.contains("SPEC.md"), ROOT.relativize(doc) + " points at SPEC.md, which is not in the repository");
            assertFalse(text.contains("../shared"), ROOT.relativize(doc) + " points outside the repository");
        }
    }

    @Test
    void everyConfigKeyTheLoaderReadsIsInTheConfigurationReference() throws IOException {
        Map<String, Set<String>> keysByFile = configKeysInSources();
        assertFalse(keysByFile.isEmpty(), "no config reader found under src/main/java");
        keysByFile.forEach((file, keys) -> assertFalse(keys.isEmpty(),
                file + " uses JsonFields but no key was found in it: teach this test its reading calls, or add it to NOT_CONFIG"));

        String reference = Files.readString(CONFIGURATION);
        Map<String, String> missing = new TreeMap<>();
        keysByFile.forEach((file, keys) -> keys.stream()
                .filter(k -> !reference.contains("`" + k + "`"))
                .forEach(k -> missing.merge(k, file, (a, b) -> a + ", " + b)));
        assertEquals(Map.of(), missing, "config keys (and the source that reads them) missing from docs/configuration.md,"
                + " which must name each as `key`");
    }

    @Test
    void everyCompleteConfigInTheDocsAndTheShippedConfigsLoad() throws IOException {
        List<String> checked = new ArrayList<>();
        for (Path doc : docs()) {
            Matcher m = JSON_BLOCK.matcher(Files.readString(doc));
            while (m.find()) {
                String json = m.group(1).strip();
                if (json.startsWith("{") && json.contains("\"upstreams\"") && !json.contains("...")) {
                    load(json, ROOT.relativize(doc) + ", the block at offset " + m.start());
                    checked.add(ROOT.relativize(doc).toString());
                }
            }
        }
        assertTrue(checked.contains("README.md") && checked.contains("docs/configuration.md"), "examples found: " + checked);
        for (String shipped : List.of("conf/upstream-proxy.json", "src/dist/conf/upstream-proxy.json")) {
            load(Files.readString(ROOT.resolve(shipped)), shipped);
        }
    }

    private static void load(String json, String where) {
        try {
            ConfigLoader.parse(json, null);
        } catch (ConfigException e) {
            throw new AssertionError(where + ": " + e.getMessage(), e);
        }
    }

    @Test
    void keyScannerFindsKeysReadThroughEachKindOfCall() {
        String source = """
                String host = l.string("host", "0.0.0.0");
                if (f.has("listen")) { JsonFields l = f.object("listen"); }
                List<Cidr> allow = cidrs(a, "allow", LOOPBACK);
                int maxBody = size(a, "max_body_size", 1 << 20, 1, 64 << 20);
                static int size(JsonFields f, String key, int fallback) { return 0; }
                private static List<Cidr> cidrs(JsonFields f, String key, List<Cidr> fallback) { return null; }
                throw new ConfigException("routes", "missing (expected: \\"x\\")");
                """;
        assertEquals(new TreeSet<>(List.of("host", "listen", "allow", "max_body_size")), new TreeSet<>(keysIn(source, helpersIn(source))));
    }

    @Test
    void slugsFollowGitHubHeadingAnchors() {
        assertEquals("state-across-restarts", slug("State across restarts"));
        assertEquals("health_check", slug("health_check"));
        assertEquals("what-it-is-not-yet", slug("What it is not (yet)"));
        assertEquals("tomcat-101-debianubuntu-package-tomcat10", slug("Tomcat 10.1 (Debian/Ubuntu package `tomcat10`)"));
    }

    // ---------------------------------------------------------------------------------------

    private static List<Path> docs() throws IOException {
        List<Path> out = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        try (Stream<Path> s = Files.list(ROOT.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(out::add);
        }
        assertTrue(out.size() > 1, "docs/*.md");
        return out;
    }

    /** Null when the link is fine, else what is wrong with it. */
    private static String check(Path doc, String target) throws IOException {
        int hash = target.indexOf('#');
        String file = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = file.isEmpty() ? doc : doc.getParent().resolve(file).normalize();
        if (!resolved.startsWith(ROOT)) {
            return "leaves the repository";
        }
        if (!Files.exists(resolved)) {
            return "no such file";
        }
        if (anchor != null && !anchor.isEmpty() && resolved.toString().endsWith(".md")
                && !anchors(Files.readString(resolved)).contains(anchor)) {
            return "no heading gives #" + anchor + " in " + ROOT.relativize(resolved);
        }
        return null;
    }

    private static String withoutCode(String markdown) {
        return CODE_SPAN.matcher(FENCE.matcher(markdown).replaceAll("")).replaceAll("");
    }

    /** The anchors GitHub gives a file's headings (a repeated heading gets -1, -2, ...). */
    private static Set<String> anchors(String markdown) {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = HEADING.matcher(FENCE.matcher(markdown).replaceAll(""));
        while (m.find()) {
            String s = slug(m.group(1));
            String unique = s;
            for (int i = 1; !out.add(unique); i++) {
                unique = s + "-" + i;
            }
        }
        return out;
    }

    /** GitHub's heading anchor: lower case, punctuation dropped except - and _, spaces to -. */
    static String slug(String heading) {
        return heading.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-');
    }

    /**
     * The keys each config reader asks {@link JsonFields} for: the string literal given as the key
     * to one of its methods ({@code f.string("host", ...)}), or to a helper of the reader's that
     * takes a JsonFields and a key ({@code cidrs(a, "allow", ...)}). The loader rejects every key
     * not read this way, so this is the set of keys it accepts.
     */
    private static Map<String, Set<String>> configKeysInSources() throws IOException {
        Map<Path, String> readers = new TreeMap<>();
        try (Stream<Path> s = Files.walk(ROOT.resolve("src/main/java"))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".java")).toList()) {
                String source = Files.readString(p);
                if (source.contains("JsonFields") && !NOT_CONFIG.contains(p.getFileName().toString())) {
                    readers.put(p, source);
                }
            }
        }
        Set<String> helpers = new LinkedHashSet<>();
        readers.values().forEach(source -> helpers.addAll(helpersIn(source)));
        Map<String, Set<String>> out = new TreeMap<>();
        readers.forEach((p, source) -> out.put(ROOT.relativize(p).toString(), keysIn(source, helpers)));
        return out;
    }

    /** Methods declared as {@code name(JsonFields f, String key, ...)}: they read {@code key} from {@code f}. */
    static Set<String> helpersIn(String source) {
        Set<String> helpers = new LinkedHashSet<>();
        Matcher m = Pattern.compile("\\b(\\w+)\\(\\s*JsonFields\\s+\\w+\\s*,\\s*String\\s+\\w+").matcher(source);
        while (m.find()) {
            helpers.add(m.group(1));
        }
        return helpers;
    }

    static Set<String> keysIn(String source, Set<String> helpers) {
        Set<String> keys = new LinkedHashSet<>();
        Set<String> readers = new LinkedHashSet<>();
        Stream.of(JsonFields.class.getDeclaredMethods())
                .filter(m -> Modifier.isPublic(m.getModifiers()) && !Modifier.isStatic(m.getModifiers()))
                .filter(m -> m.getParameterCount() > 0 && m.getParameterTypes()[0] == String.class)
                .map(Method::getName).forEach(readers::add);
        Matcher direct = Pattern.compile("\\.(?:" + String.join("|", readers) + ")\\(\\s*\"([^\"\\\\]+)\"").matcher(source);
        while (direct.find()) {
            keys.add(direct.group(1));
        }
        if (!helpers.isEmpty()) {
            Matcher call = Pattern.compile("\\b(?:" + String.join("|", helpers) + ")\\(\\s*\\w+\\s*,\\s*\"([^\"\\\\]+)\"").matcher(source);
            while (call.find()) {
                keys.add(call.group(1));
            }
        }
        return keys;
    }
}
