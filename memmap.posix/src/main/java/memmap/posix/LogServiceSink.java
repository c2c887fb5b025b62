package memmap.posix;

import java.lang.System.Logger.Level;
import java.util.function.Function;

import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/** A {@link Log.Sink} on an OSGi Log Service 1.4 {@link Logger}. Loaded only in OSGi. */
final class LogServiceSink implements Log.Sink {
    private final Logger logger;

    private LogServiceSink(Logger logger) {
        this.logger = logger;
    }

    static Function<String, Log.Sink> sinks(Object loggerFactory) {
        if (!(loggerFactory instanceof LoggerFactory f)) {
            throw new IllegalArgumentException("loggerFactory = " + loggerFactory + ": not an org.osgi.service.log.LoggerFactory");
        }
        return name -> new LogServiceSink(f.getLogger(name));
    }

    @Override
    public boolean enabled(Level level) {
        return switch (level) {
            case ALL, TRACE -> logger.isTraceEnabled();
            case DEBUG -> logger.isDebugEnabled();
            case INFO -> logger.isInfoEnabled();
            case WARNING -> logger.isWarnEnabled();
            case ERROR -> logger.isErrorEnabled();
            case OFF -> false;
        };
    }

    @Override
    public void log(Level level, String message, Throwable thrown) {
        if (thrown == null) { // the one-argument forms take the message as it is, not as a format
            switch (level) {
                case ALL, TRACE -> logger.trace(message);
                case DEBUG -> logger.debug(message);
                case INFO -> logger.info(message);
                case WARNING -> logger.warn(message);
                case ERROR -> logger.error(message);
                case OFF -> {
                }
            }
            return;
        }
        // A trailing Throwable argument is the entry's exception (Log Service 1.4); the message
        // is then a format, so its own "{}" are escaped.
        String m = message.replace("{}", "\\{}");
        switch (level) {
            case ALL, TRACE -> logger.trace(m, thrown);
            case DEBUG -> logger.debug(m, thrown);
            case INFO -> logger.info(m, thrown);
            case WARNING -> logger.warn(m, thrown);
            case ERROR -> logger.error(m, thrown);
            case OFF -> {
            }
        }
    }
}
