package memmap.shell.internal;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.CommandSessionListener;
import org.osgi.service.component.annotations.Component;

/**
 * Usage where Gogo gives none: after a command line fails because its arguments fit none of the
 * command's signatures (Gogo's "Cannot coerce mmap(Token) to any of [...]", also what
 * {@code mmap --help} gets), the command's usage — Gogo's own {@code help NAME}, from the
 * {@code @Descriptor}s — is printed (the interactive shell prints Gogo's error line after it).
 * The interactive shell's sessions only: the script runner turns {@code NAME --help} into
 * {@code help NAME}, and prints its error first and then the usage itself ({@link #usage}).
 */
@Component(service = CommandSessionListener.class)
public final class CommandUsage implements CommandSessionListener {
    /** A session attribute: set, this listener leaves the session to its owner (a script). */
    static final String HANDLED = "memmap.usage.handled";
    private static final Pattern COERCE = Pattern.compile("^Cannot coerce (\\S+?)\\(");
    /** The line asked for the usage ({@code --help} or {@code -h} among its words). */
    private static final Pattern HELP = Pattern.compile("(^|\\s)(--help|-h)(\\s|$)");

    /** The command whose arguments did not fit, if {@code t} (or a cause) says so; else null. */
    static String wrongArguments(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getMessage() != null) {
                Matcher m = COERCE.matcher(c.getMessage());
                if (m.find()) {
                    return m.group(1);
                }
            }
        }
        return null;
    }

    /** Prints {@code name}'s usage (Gogo's help, which returns it as text) to {@code out}; false if it has none. */
    static boolean usage(CommandSession session, String name, java.io.PrintStream out) {
        try {
            Object text = session.execute("help " + name);
            if (text == null) {
                return false;
            }
            String s = String.valueOf(text);
            out.println(s.endsWith("\n") ? s.substring(0, s.length() - 1) : s);
            out.flush();
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void beforeExecute(CommandSession session, CharSequence command) {
    }

    @Override
    public void afterExecute(CommandSession session, CharSequence command, Exception exception) {
        String name = wrongArguments(exception);
        if (name != null && session.get(HANDLED) == null && !command.toString().startsWith("help ")) {
            boolean asked = HELP.matcher(command).find();
            session.getConsole().println(asked ? name + ": usage:" : "wrong arguments for " + name + "; usage:");
            usage(session, name, session.getConsole());
        }
    }

    @Override
    public void afterExecute(CommandSession session, CharSequence command, Object result) {
    }
}
