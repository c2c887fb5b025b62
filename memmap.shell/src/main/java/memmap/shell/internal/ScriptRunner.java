package memmap.shell.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The runtime's non-interactive mode: when the framework property {@value #SCRIPT} names a
 * file, once the framework has started every bundle, runs its lines as Gogo commands (blank
 * lines and {@code #} comments skipped), echoing each as {@code memmap> line} and printing its
 * result, then exits the JVM: status 0 if every command succeeded, 1 at the first that failed
 * (after printing {@code error: file:line: message}), 2 if the script cannot be read.
 */
@Component(immediate = true)
public final class ScriptRunner {
    /** The framework (or system) property naming the script. */
    public static final String SCRIPT = "memmap.script";

    @Activate
    public ScriptRunner(BundleContext context, @Reference CommandProcessor processor, @Reference MemmapCommands commands) {
        String script = context.getProperty(SCRIPT);
        if (script == null || script.isBlank()) {
            return;
        }
        Thread.ofPlatform().name("memmap script").start(() -> {
            awaitFrameworkStarted(context);
            // The process's own stdout: System.out is Gogo's ThreadPrintStream, which during a command
            // is the session's output itself — a session writing to it would loop (a log or progress line).
            PrintStream stdout = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
            int status = run(processor, Path.of(script), stdout);
            stdout.flush();
            System.out.flush();
            System.err.flush();
            System.exit(status);
        });
    }

    /** {@code NAME --help} (or {@code -h}), alone on a line. */
    private static final java.util.regex.Pattern HELP = java.util.regex.Pattern.compile("(\\S+)\\s+(?:--help|-h)");

    /** Runs {@code script} in a new session, printing to {@code out}; returns the exit status. */
    static int run(CommandProcessor processor, Path script, PrintStream out) {
        List<String> lines;
        try {
            lines = Files.readAllLines(script, StandardCharsets.UTF_8);
        } catch (IOException e) {
            out.println("error: cannot read script " + script + ": " + e);
            return 2;
        }
        try (CommandSession session = processor.createSession(System.in, out, out)) {
            session.put(CommandUsage.HANDLED, Boolean.TRUE);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                out.println("memmap> " + line);
                java.util.regex.Matcher help = HELP.matcher(line);
                if (help.matches()) {
                    line = "help " + help.group(1); // NAME --help: its usage, as help NAME gives it
                }
                try {
                    Object result = session.execute(line);
                    if (result != null) {
                        String text = String.valueOf(session.format(result, Converter.INSPECT));
                        if (!text.isEmpty()) {
                            out.println(text.endsWith("\n") ? text.substring(0, text.length() - 1) : text);
                        }
                    }
                } catch (Exception e) {
                    Throwable t = e;
                    while (t instanceof java.lang.reflect.InvocationTargetException && t.getCause() != null) {
                        t = t.getCause(); // the command's own exception, not Gogo's reflective call around it
                    }
                    String wrong = CommandUsage.wrongArguments(t);
                    if (wrong != null) {
                        out.println("error: " + script + ":" + (i + 1) + ": wrong arguments for " + wrong + " (" + t.getMessage() + "); usage:");
                        CommandUsage.usage(session, wrong, out);
                        return 1;
                    }
                    out.println("error: " + script + ":" + (i + 1) + ": " + (t.getMessage() == null ? t.toString() : t.getMessage()));
                    return 1;
                }
            }
        }
        out.println("script " + script + ": ok");
        return 0;
    }

    private static void awaitFrameworkStarted(BundleContext context) {
        Bundle system = context.getBundle(0);
        CountDownLatch started = new CountDownLatch(1);
        FrameworkListener l = e -> {
            if (e.getType() == FrameworkEvent.STARTED) {
                started.countDown();
            }
        };
        context.addFrameworkListener(l);
        try {
            if (system.getState() != Bundle.ACTIVE) {
                started.await();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            context.removeFrameworkListener(l);
        }
    }
}
