package memmap.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The interactive shell in a real terminal (a pseudo-terminal, as a terminal emulator gives
 * one), typed at key by key: Gogo with JLine completes command names, recalls the last line
 * with the Up arrow (Gogo without JLine printed "EOFException: unexpected EOF while looking for
 * array token"), shows usage, and {@code stop 0} ends the runtime with status 0.
 */
class InteractiveShellTest {
    /** CSI and OSC sequences, and the keypad modes. */
    private static final Pattern ESCAPES = Pattern.compile("\u001b\\[([0-9;?]*)[ -/]*([@-~])|\u001b\\][^\u0007\u001b]*(\u0007|\u001b\\\\)|\u001b[=>()][0-9A-B]?");

    /**
     * The text a terminal shows, roughly, line by line: escape sequences dropped except cursor
     * forward (spaces, as JLine moves over the blanks it already drew), a backspace takes back
     * the character before it (JLine redraws a word it has just coloured), no carriage returns.
     */
    static String plain(String terminalOutput) {
        StringBuilder out = new StringBuilder();
        Matcher m = ESCAPES.matcher(terminalOutput);
        int at = 0;
        while (at < terminalOutput.length()) {
            m.region(at, terminalOutput.length());
            if (m.lookingAt()) {
                if ("C".equals(m.group(2))) {
                    out.append(" ".repeat(m.group(1).isEmpty() ? 1 : Integer.parseInt(m.group(1))));
                }
                at = m.end();
                continue;
            }
            char c = terminalOutput.charAt(at++);
            if (c == '\b') {
                if (!out.isEmpty() && out.charAt(out.length() - 1) != '\n') {
                    out.setLength(out.length() - 1);
                }
            } else if (c != '\r' && c != '\u0007' && c != '\u001b') {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** A line that is only an address (what mmap prints; prompt lines carry the time on the right). */
    private static final Pattern ADDRESS = Pattern.compile("(?m)^(0x[0-9a-f]+)\\s*$");

    private static List<String> addresses(String out) {
        return ADDRESS.matcher(plain(out)).results().map(m -> m.group(1)).toList();
    }

    @Test
    void completionHistoryUsageAndStop() throws Exception {
        try (LiveRuntime rt = new LiveRuntime(List.of("-Dmemmap.log.console.level=WARN"), true)) {
            rt.await(o -> plain(o).contains("Welcome to Apache Felix Gogo") && plain(o).contains("g! "), "the prompt");
            // Bracketed paste switched on: JLine drives a real terminal, not its dumb fallback.
            assertTrue(rt.output().contains("\u001b[?2004h"), "a real terminal, not JLine's dumb fallback:\n" + rt.output());
            rt.typeKeys("space\r");
            rt.await(o -> Pattern.compile("(?m)^space 1\\s*$").matcher(plain(o)).find(), "space's number");

            // Tab completes a command name: "mma" becomes "mmap".
            int before = rt.output().length();
            rt.typeKeys("mma\t");
            rt.await(o -> plain(o.substring(before)).contains("mmap"), "mma completed to mmap");
            rt.typeKeys("1 8K\r"); // the completion added the space
            rt.await(o -> addresses(o).size() == 1, "the first mapping's address");

            // Up recalls the line; Enter runs it again: a second mapping.
            rt.typeKeys("\u001bOA"); // Up, as a terminal in application cursor mode (JLine's) sends it
            rt.await(o -> plain(o).lastIndexOf("mmap 1 8K") > plain(o).indexOf("mmap 1 8K") && plain(o).indexOf("mmap 1 8K") >= 0, "the line recalled");
            rt.typeKeys("\r");
            rt.await(o -> addresses(o).size() == 2, "the second mapping's address");
            List<String> a = addresses(rt.output());
            assertFalse(a.get(0).equals(a.get(1)), "two mappings: " + a);

            // Values captured and reused; --help shows the usage.
            rt.typeKeys("x = (mmap 1 4K); write 1 $x hello; read --text 1 $x 5\r");
            rt.await(o -> Pattern.compile("(?m)^hello\\s*$").matcher(plain(o)).find(), "the bytes written through the captured address");
            int usage = rt.output().length();
            rt.typeKeys("munmap --help\r");
            String help = plain(rt.await(o -> plain(o.substring(usage)).contains("parameters:"), "munmap's usage").substring(usage));
            assertTrue(help.contains("munmap: usage:") && help.contains("munmap - "), help);

            String all = plain(rt.output());
            assertFalse(all.contains("EOFException"), all);
            assertFalse(all.contains("array token"), all);

            rt.typeKeys("stop 0\r");
            assertEquals(0, rt.awaitExit(), "stop 0's exit status:\n" + plain(rt.output()));
        }
    }
}
