package memmap.webconsole.internal;

/** HTML text: every value from memory (paths, names, maps lines) goes through {@link #esc}. */
final class Html {
    private Html() {
    }

    /** {@code s} safe inside an element or a quoted attribute. */
    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Bytes as people read them: 4 KiB, 1.5 MiB (unsigned). */
    static String bytes(long n) {
        if (Long.compareUnsigned(n, 1024) < 0) {
            return n + " B";
        }
        double v = n >= 0 ? n : (n >>> 1) * 2.0;
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v == Math.rint(v) ? String.valueOf((long) v) : String.format(java.util.Locale.ROOT, "%.1f", v)) + " " + units[u];
    }
}
