package memmap.webconsole.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An address space drawn as a bar: one segment per vma, its width to scale with its length,
 * coloured by backing kind, shaded by permissions, its {@code maps} line on hover.
 *
 * <p>To scale: a vma of twice the length is twice as wide. Address spaces are sparse (the heap
 * near the bottom, mappings near the top of 128 TiB), so a gap between vmas wider than all the
 * mapped bytes together is drawn as a fixed-width break, marked and labelled with its size;
 * narrower gaps are to scale too. A vma narrower than {@link #MIN_WIDTH} pixels is drawn that
 * wide, so that every vma can be seen and hovered.
 */
final class SpaceLayout {
    /** Pixels of the bar. */
    static final double WIDTH = 1000;
    /** The narrowest vma drawn, pixels. */
    static final double MIN_WIDTH = 3;

    /** The backing kinds as the page colours them. */
    enum Kind {
        ANONYMOUS("anonymous", "#4e79a7"), HOST_FILE("hostfile", "#59a14f"), SHARED_MEMORY("shm", "#e15759");

        final String id;
        final String colour;

        Kind(String id, String colour) {
            this.id = id;
            this.colour = colour;
        }
    }

    /**
     * One line of {@code maps}.
     *
     * @param start first address
     * @param end address after the last (unsigned)
     * @param perms {@code rwxp} as maps prints them
     * @param path the name maps prints (empty for private anonymous memory)
     * @param line the whole line
     */
    record Vma(long start, long end, String perms, String path, String line) {
        long length() {
            return end - start;
        }

        /**
         * The backing kind, from the name maps prints: System V segments ({@code SYSV…}) and
         * POSIX shared memory ({@code /dev/shm/…}) are shared memory; anonymous memory has no
         * name, a bracketed one ({@code [heap]}, {@code [stack]}, {@code [anon:…]},
         * {@code [anon_shmem:…]}) or {@code /dev/zero (deleted)} (shared anonymous, as Linux
         * shows it); any other path is a host file.
         */
        Kind kind() {
            String p = path;
            if (p.startsWith("/SYSV") || p.startsWith("SYSV") || p.startsWith("/dev/shm/")) {
                return Kind.SHARED_MEMORY;
            }
            if (p.isEmpty() || p.startsWith("[") || p.startsWith("/dev/zero")) {
                return Kind.ANONYMOUS;
            }
            return Kind.HOST_FILE;
        }
    }

    private SpaceLayout() {
    }

    /**
     * The vmas of a {@code maps} text, in address order.
     *
     * @throws IllegalArgumentException naming the line if one is not in maps' format
     */
    static List<Vma> parse(String maps) {
        List<Vma> vmas = new ArrayList<>();
        for (String line : maps.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split("\\s+", 6);
            int dash = f[0].indexOf('-');
            if (f.length < 5 || dash < 0 || f[1].length() != 4) {
                throw new IllegalArgumentException("maps line = \"" + line + "\" is not START-END PERMS OFFSET DEV INODE [PATH]");
            }
            vmas.add(new Vma(Long.parseUnsignedLong(f[0].substring(0, dash), 16), Long.parseUnsignedLong(f[0].substring(dash + 1), 16),
                    f[1], f.length == 6 ? f[5] : "", line));
        }
        return vmas;
    }

    /** The SVG bar of {@code vmas} (address order), {@code height} pixels high. */
    static String svg(List<Vma> vmas, long spaceId, int height) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg class=\"memmap-space\" data-space=\"%d\" width=\"%.0f\" height=\"%d\" viewBox=\"0 0 %.0f %d\" "
                + "xmlns=\"http://www.w3.org/2000/svg\">", spaceId, WIDTH, height, WIDTH, height));
        sb.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%d\" fill=\"#f4f4f4\" stroke=\"#bbb\"/>", WIDTH, height));
        if (vmas.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "<text x=\"8\" y=\"%d\" font-size=\"12\" fill=\"#666\">nothing mapped</text>", height / 2 + 4));
            return sb.append("</svg>").toString();
        }
        double mapped = 0;
        for (Vma v : vmas) {
            mapped += unsigned(v.length());
        }
        double breakUnits = mapped / 20; // a break: 1/20 of the mapped bytes wide
        List<Piece> pieces = new ArrayList<>();
        double units = 0;
        for (int i = 0; i < vmas.size(); i++) {
            if (i > 0) {
                long gap = vmas.get(i).start() - vmas.get(i - 1).end();
                if (gap != 0) {
                    boolean broken = unsigned(gap) > mapped;
                    pieces.add(new Piece(broken ? Piece.BREAK : Piece.GAP, broken ? breakUnits : unsigned(gap), gap));
                    units += pieces.getLast().units();
                }
            }
            pieces.add(new Piece(Piece.VMA, unsigned(vmas.get(i).length()), i));
            units += pieces.getLast().units();
        }
        // Scale so that the widened small vmas still fit.
        int narrow = 0;
        for (Piece p : pieces) {
            if (p.type() == Piece.VMA && p.units() / units * WIDTH < MIN_WIDTH) {
                narrow++;
            }
        }
        double scale = Math.max(1, WIDTH - narrow * MIN_WIDTH) / units;
        double x = 0;
        for (Piece p : pieces) {
            double w = p.units() * scale;
            if (p.type() == Piece.VMA) {
                Vma v = vmas.get((int) p.value());
                w = Math.max(w, MIN_WIDTH);
                sb.append(String.format(Locale.ROOT,
                        "<rect class=\"vma %s\" data-start=\"0x%x\" data-end=\"0x%x\" data-perms=\"%s\" x=\"%.2f\" y=\"2\" width=\"%.2f\" height=\"%d\" "
                                + "fill=\"%s\" fill-opacity=\"%.2f\" stroke=\"%s\" stroke-dasharray=\"%s\"><title>%s</title></rect>",
                        v.kind().id, v.start(), v.end(), Html.esc(v.perms()), x, w, height - 4, v.kind().colour, opacity(v.perms()),
                        v.perms().charAt(2) == 'x' ? "#000" : "#fff", v.perms().charAt(3) == 'p' ? "3,2" : "none", Html.esc(v.line())));
            } else if (p.type() == Piece.BREAK) {
                sb.append(String.format(Locale.ROOT, "<g class=\"gap\"><title>unmapped: %s</title><rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"%d\" "
                        + "fill=\"#fff\" stroke=\"#bbb\" stroke-dasharray=\"2,2\"/><text x=\"%.2f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\" fill=\"#666\">//</text></g>",
                        Html.bytes(p.value()), x, w, height, x + w / 2, height / 2 + 3));
            }
            x += w;
        }
        return sb.append("</svg>").toString();
    }

    /**
     * One piece of the bar, left to right.
     *
     * @param type {@link #VMA}, {@link #GAP} (to scale) or {@link #BREAK} (a gap drawn narrower)
     * @param units its width before scaling
     * @param value the vma's index for a vma, the gap's length in bytes (unsigned) otherwise
     */
    private record Piece(int type, double units, long value) {
        static final int VMA = 0;
        static final int GAP = 1;
        static final int BREAK = 2;
    }

    /** Writable full, read-only lighter, no access faint. */
    static double opacity(String perms) {
        if (perms.charAt(1) == 'w') {
            return 1.0;
        }
        return perms.charAt(0) == 'r' ? 0.55 : 0.2;
    }

    private static double unsigned(long n) {
        return n >= 0 ? n : (n >>> 1) * 2.0;
    }
}
