package memmap.webconsole.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import memmap.api.MemoryUsage;

/** The usage history: a bounded ring of samples, and its chart to scale. */
class UsageHistoryTest {
    private static MemoryUsage usage(long cg1, long cg2, long committed) {
        return new MemoryUsage(cg1 + cg2, committed, 0, 1L << 30,
                Map.of(1, new MemoryUsage.Cgroup(cg1, cg1), 2, new MemoryUsage.Cgroup(cg2, cg2)));
    }

    private static List<double[]> points(String svg, String data) {
        Matcher m = Pattern.compile("<polyline " + Pattern.quote(data) + " points=\"([^\"]*)\"").matcher(svg);
        assertTrue(m.find(), data + " in " + svg);
        return Pattern.compile(" ").splitAsStream(m.group(1)).map(p -> p.split(","))
                .map(xy -> new double[] {Double.parseDouble(xy[0]), Double.parseDouble(xy[1])}).toList();
    }

    @Test
    void keepsTheNewestSamplesAndDrawsOneLinePerCgroup() {
        UsageHistory h = new UsageHistory(3);
        h.add(1_000, usage(0, 0, 0));
        h.add(2_000, usage(4096, 0, 4096));
        h.add(3_000, usage(8192, 4096, 8192));
        h.add(4_000, usage(16384, 4096, 16384));
        List<UsageHistory.Sample> s = h.samples();
        assertEquals(List.of(2_000L, 3_000L, 4_000L), s.stream().map(UsageHistory.Sample::millis).toList(), "the oldest dropped");

        String svg = UsageHistory.svg(s, 600, 200);
        List<double[]> cg1 = points(svg, "data-cgroup=\"1\"");
        List<double[]> cg2 = points(svg, "data-cgroup=\"2\"");
        List<double[]> committed = points(svg, "data-committed=\"1\"");
        assertEquals(3, cg1.size());
        assertEquals(3, cg2.size());
        // Time to scale left to right; bytes to scale bottom (y larger) to top: 16 KiB is the top.
        assertTrue(cg1.get(0)[0] < cg1.get(1)[0] && cg1.get(1)[0] < cg1.get(2)[0], svg);
        assertEquals(cg1.get(1)[0] - cg1.get(0)[0], cg1.get(2)[0] - cg1.get(1)[0], 0.2, "equal steps in time, equal steps in x");
        double zero = cg2.get(0)[1]; // cgroup 2 had 0 bytes at first
        double top = cg1.get(2)[1];
        assertTrue(top < zero, svg);
        assertEquals((zero + top) / 2, cg1.get(1)[1], 0.2, "8 KiB halfway up to 16 KiB");
        assertEquals(top, committed.get(2)[1], 0.01);
        assertTrue(svg.contains("<title>cgroup 1 allocated: 16 KiB now</title>"), svg);
        assertTrue(svg.contains(">16 KiB</text>"), "the scale's top label: " + svg);
    }

    @Test
    void aFewSamplesAreNotAChartAndABadCapacityIsNamed() {
        UsageHistory h = new UsageHistory(2);
        h.add(1_000, usage(1, 2, 3));
        assertTrue(UsageHistory.svg(h.samples(), 600, 200).contains("collecting samples"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.resize(1));
        assertTrue(e.getMessage().contains("capacity = 1"), e.getMessage());
        assertEquals(1, h.samples().size(), "a refused resize changes nothing");
    }
}
