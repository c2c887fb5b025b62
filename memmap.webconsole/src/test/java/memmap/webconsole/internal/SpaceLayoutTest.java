package memmap.webconsole.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import memmap.webconsole.internal.SpaceLayout.Kind;
import memmap.webconsole.internal.SpaceLayout.Vma;

/** The bar drawn from a maps text: parsed as the kernel prints it, to scale, every vma visible. */
class SpaceLayoutTest {
    private static final Pattern RECT = Pattern.compile("<rect class=\"vma (\\w+)\" data-start=\"(0x[0-9a-f]+)\" data-end=\"(0x[0-9a-f]+)\" "
            + "data-perms=\"([-rwxps]{4})\" x=\"([0-9.]+)\" y=\"2\" width=\"([0-9.]+)\"");

    record Drawn(String kind, long start, long end, String perms, double x, double width) {
    }

    static List<Drawn> drawn(String svg) {
        List<Drawn> out = new ArrayList<>();
        Matcher m = RECT.matcher(svg);
        while (m.find()) {
            out.add(new Drawn(m.group(1), Long.parseUnsignedLong(m.group(2).substring(2), 16), Long.parseUnsignedLong(m.group(3).substring(2), 16),
                    m.group(4), Double.parseDouble(m.group(5)), Double.parseDouble(m.group(6))));
        }
        return out;
    }

    @Test
    void parsesWhatTheKernelPrints() throws Exception {
        // The kernel is the reference for the format: this JVM's own maps, every line parsed back.
        List<String> lines = Files.readAllLines(Path.of("/proc/self/maps"));
        List<Vma> vmas = SpaceLayout.parse(String.join("\n", lines));
        assertEquals(lines.size(), vmas.size());
        for (int i = 0; i < lines.size(); i++) {
            Vma v = vmas.get(i);
            String[] f = lines.get(i).split("\\s+", 6);
            assertEquals(f[0].replaceAll("(^|-)0+(?=[0-9a-f])", "$1"), Long.toHexString(v.start()) + "-" + Long.toHexString(v.end()), lines.get(i));
            assertEquals(f[1], v.perms());
            assertEquals(f.length == 6 ? f[5].strip() : "", v.path().strip(), lines.get(i));
            assertTrue(Long.compareUnsigned(v.start(), v.end()) < 0, lines.get(i));
        }
        String svg = SpaceLayout.svg(vmas, 1, 24);
        assertEquals(vmas.size(), drawn(svg).size());
    }

    @Test
    void theTopOfTheAddressSpaceIsUnsigned() {
        // Linux's vsyscall page sits at the top of the address space, 16 EiB less 128 TiB after the stack.
        String svg = SpaceLayout.svg(SpaceLayout.parse("""
                7ffff7fef000-7ffff7fff000 rw-s 00000000 00:01 65536 /dev/zero (deleted)
                ffffffffff600000-ffffffffff601000 r-xp 00000000 00:00 0 [vsyscall]
                """), 1, 24);
        List<Drawn> d = drawn(svg);
        assertEquals(0xffffffffff600000L, d.get(1).start());
        assertTrue(d.get(1).x() > d.get(0).x(), svg);
        assertTrue(svg.contains("<title>unmapped: 16.0 EiB</title>"), "the gap's own size, not a signed or saturated one: " + svg);
    }

    @Test
    void kindsFromTheNamesMapsPrints() {
        List<Vma> vmas = SpaceLayout.parse("""
                7f0000000000-7f0000010000 rw-s 00000000 00:01 5 /dev/zero (deleted)
                7f0000010000-7f0000014000 r--p 00000000 00:00 0
                7f0000020000-7f0000022000 rw-s 00000000 00:01 4660 /SYSV00001234 (deleted)
                7f0000030000-7f0000031000 rw-s 00000000 00:19 7 /dev/shm/db
                7f0000040000-7f0000041000 r-xp 00001000 08:01 99 /usr/lib/libc.so.6
                7ffff0000000-7ffff0021000 rw-p 00000000 00:00 0 [stack]
                """);
        assertEquals(List.of(Kind.ANONYMOUS, Kind.ANONYMOUS, Kind.SHARED_MEMORY, Kind.SHARED_MEMORY, Kind.HOST_FILE, Kind.ANONYMOUS),
                vmas.stream().map(Vma::kind).toList());
        assertEquals("/dev/zero (deleted)", vmas.get(0).path());
    }

    @Test
    void widthsAreToScaleAndSmallVmasStayVisible() {
        // 64K and 128K side by side, a 4K vma after a 16K gap (to scale), then one far away (a break).
        List<Vma> vmas = SpaceLayout.parse("""
                10000-20000 rw-p 00000000 00:00 0
                20000-40000 r--p 00000000 00:00 0
                44000-45000 ---p 00000000 00:00 0
                7f0000000000-7f0000010000 rw-s 00000000 00:01 5 /dev/zero (deleted)
                """);
        String svg = SpaceLayout.svg(vmas, 7, 24);
        List<Drawn> d = drawn(svg);
        assertEquals(4, d.size(), svg);
        assertEquals(2.0, d.get(1).width() / d.get(0).width(), 0.01, "twice the length, twice the width: " + svg);
        assertEquals(d.get(0).x() + d.get(0).width(), d.get(1).x(), 0.01, "adjacent vmas touch");
        double perByte = d.get(0).width() / 0x10000;
        assertEquals(0x4000 * perByte, d.get(2).x() - (d.get(1).x() + d.get(1).width()), 0.05, "a narrow gap is to scale");
        assertTrue(d.get(2).width() >= SpaceLayout.MIN_WIDTH);
        assertEquals(1, Pattern.compile("<g class=\"gap\"><title>unmapped: ").matcher(svg).results().count(), "one break for the far gap: " + svg);
        Drawn last = d.get(3);
        assertTrue(last.x() + last.width() <= SpaceLayout.WIDTH + 0.01, "everything fits the bar: " + svg);
        assertTrue(Pattern.compile("data-perms=\"---p\"[^>]*fill-opacity=\"0.20\"").matcher(svg).find(), "no access, faint: " + svg);
        assertTrue(svg.contains("data-space=\"7\""));
    }

    @Test
    void manyTinyVmasAllFit() {
        StringBuilder maps = new StringBuilder();
        maps.append("100000000-200000000 rw-p 00000000 00:00 0\n"); // 4 GiB
        for (int i = 0; i < 200; i++) { // 200 pages, each alone
            long s = 0x300000000L + i * 0x2000L;
            maps.append(String.format("%x-%x r--p 00000000 00:00 0%n", s, s + 0x1000));
        }
        String svg = SpaceLayout.svg(SpaceLayout.parse(maps.toString()), 1, 24);
        List<Drawn> d = drawn(svg);
        assertEquals(201, d.size());
        for (int i = 1; i < d.size(); i++) {
            assertTrue(d.get(i).width() >= SpaceLayout.MIN_WIDTH - 1e-9, d.get(i).toString());
            assertTrue(d.get(i).x() >= d.get(i - 1).x() + d.get(i - 1).width() - 0.01, "in address order, not overlapping: " + d.get(i));
        }
        assertTrue(d.get(200).x() + d.get(200).width() <= SpaceLayout.WIDTH + 0.01, "fits: " + d.get(200));
    }

    @Test
    void escapesWhatItShowsAndNamesABadLine() {
        String svg = SpaceLayout.svg(SpaceLayout.parse("1000-2000 r--p 00000000 08:01 3 /tmp/<b>&\"x\"\n"), 1, 24);
        assertTrue(svg.contains("/tmp/&lt;b&gt;&amp;"), svg);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SpaceLayout.parse("1000-2000 rw\n"));
        assertTrue(e.getMessage().contains("\"1000-2000 rw\""), e.getMessage());
        assertTrue(SpaceLayout.svg(List.of(), 3, 24).contains("nothing mapped"));
    }
}
