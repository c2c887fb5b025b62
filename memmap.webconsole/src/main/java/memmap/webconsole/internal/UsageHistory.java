package memmap.webconsole.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import memmap.api.MemoryUsage;

/**
 * The memory file's usage per cgroup over time: the last {@code capacity} samples, oldest
 * first, and their chart. Thread-safe (one lock; sampled from a timer, read by requests).
 */
final class UsageHistory {
    /**
     * One sample.
     *
     * @param millis when (epoch milliseconds)
     * @param allocated allocated bytes per memory cgroup id
     * @param committed committed bytes of the whole file
     */
    record Sample(long millis, Map<Integer, Long> allocated, long committed) {
    }

    private final ArrayDeque<Sample> samples = new ArrayDeque<>();
    private int capacity;

    UsageHistory(int capacity) {
        resize(capacity);
    }

    /** Keeps at most {@code capacity} samples from now on (the oldest dropped). */
    synchronized void resize(int capacity) {
        if (capacity < 2) {
            throw new IllegalArgumentException("capacity = " + capacity + " must be at least 2");
        }
        this.capacity = capacity;
        while (samples.size() > capacity) {
            samples.removeFirst();
        }
    }

    /** Records {@code u} as of {@code millis}. */
    synchronized void add(long millis, MemoryUsage u) {
        Map<Integer, Long> byCg = new TreeMap<>();
        u.byCgroup().forEach((cg, c) -> byCg.put(cg, c.allocated()));
        if (byCg.isEmpty()) {
            byCg.put(0, u.allocated());
        }
        samples.addLast(new Sample(millis, Map.copyOf(byCg), u.committed()));
        if (samples.size() > capacity) {
            samples.removeFirst();
        }
    }

    synchronized List<Sample> samples() {
        return new ArrayList<>(samples);
    }

    private static final String[] COLOURS = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"};

    /** A line chart: allocated bytes per cgroup (one line each), committed bytes dashed. */
    static String svg(List<Sample> samples, int width, int height) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "<svg class=\"memmap-usage\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">"
                        + "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#bbb\"/>",
                width, height, width, height, width, height));
        if (samples.size() < 2) {
            return sb.append(String.format(Locale.ROOT, "<text x=\"8\" y=\"%d\" font-size=\"12\" fill=\"#666\">collecting samples…</text></svg>",
                    height / 2)).toString();
        }
        TreeSet<Integer> cgroups = new TreeSet<>();
        double max = 1;
        for (Sample s : samples) {
            cgroups.addAll(s.allocated().keySet());
            for (long v : s.allocated().values()) {
                max = Math.max(max, v);
            }
            max = Math.max(max, s.committed());
        }
        long t0 = samples.getFirst().millis();
        double span = Math.max(1, samples.getLast().millis() - t0);
        int left = 70;
        int plotW = width - left - 10;
        int plotH = height - 30;
        sb.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"14\" font-size=\"11\" fill=\"#444\">%s</text>", Html.esc(Html.bytes((long) max))));
        sb.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#444\">0</text>", plotH + 10));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#444\">%.0f s ago</text>", left, height - 6, span / 1000));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#444\" text-anchor=\"end\">now</text>", width - 10, height - 6));
        int i = 0;
        for (int cg : cgroups) {
            sb.append(polyline(samples, s -> s.allocated().getOrDefault(cg, 0L), t0, span, max, left, plotW, plotH,
                    COLOURS[i++ % COLOURS.length], "none", "cgroup " + cg + " allocated", "data-cgroup=\"" + cg + "\""));
        }
        sb.append(polyline(samples, Sample::committed, t0, span, max, left, plotW, plotH, "#555", "4,3", "committed (whole file)", "data-committed=\"1\""));
        return sb.append("</svg>").toString();
    }

    private static String polyline(List<Sample> samples, java.util.function.ToLongFunction<Sample> value, long t0, double span, double max,
            int left, int plotW, int plotH, String colour, String dash, String title, String data) {
        StringBuilder pts = new StringBuilder();
        for (Sample s : samples) {
            pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", left + (s.millis() - t0) / span * plotW,
                    5 + plotH - value.applyAsLong(s) / max * plotH));
        }
        long last = value.applyAsLong(samples.getLast());
        return String.format(Locale.ROOT, "<polyline %s points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\">"
                + "<title>%s: %s now</title></polyline>", data, pts.toString().trim(), colour, dash, Html.esc(title), Html.esc(Html.bytes(last)));
    }
}
