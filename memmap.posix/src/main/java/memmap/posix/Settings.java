package memmap.posix;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;

/**
 * A component's configuration, checked: what provider bundles read their Config Admin
 * properties through, so that a mistake is one clear line and never takes the component down.
 *
 * <p>Each getter takes the property's default and the value serving now: a property that is
 * absent is the default (a configuration deleted, or a property taken out of it, goes back to
 * the default); a value that does not parse or breaks its rule is <em>rejected</em> — the getter
 * returns the serving value, and one line naming the PID, the property and the value is added
 * to {@link #rejected()}. A
 * property no getter asked for and that is not the framework's (service.*, component.*,
 * felix.*, osgi.*, a leading dot) is rejected as unknown, with the known property it
 * differs from only in case when there is one ({@code fillahead} for {@code fillAhead}).
 *
 * <p>Values may be what Config Admin hands out: numbers, booleans, strings (a {@code .cfg}
 * file gives strings), arrays and collections of strings.
 *
 * <p>Not thread-safe: one instance per activation or modification.
 */
public final class Settings {
    private final String pid;
    private final Map<String, ?> properties;
    private final Set<String> fixed;
    private final List<String> asked = new ArrayList<>();
    private final List<String> rejected = new ArrayList<>();

    /**
     * @param pid the configuration PID, for the messages
     * @param properties the component's properties as DS passes them
     * @param fixed the component's own fixed properties (not configuration), never unknown
     */
    public Settings(String pid, Map<String, ?> properties, String... fixed) {
        this.pid = pid;
        this.properties = properties == null ? Map.of() : properties;
        this.fixed = Set.of(fixed);
    }

    /**
     * The long property {@code key}: decimal or {@code 0x} hex, with an optional {@code K},
     * {@code M} or {@code G} suffix for strings.
     *
     * @param dflt the value when absent
     * @param serving the value now (returned when rejected)
     * @param rule what a good value is, for the message
     * @param valid whether a value is good
     */
    public long longValue(String key, long dflt, long serving, String rule, LongPredicate valid) {
        asked.add(key);
        Object v = properties.get(key);
        if (v == null) {
            return dflt;
        }
        long n;
        if (v instanceof Number num && !(v instanceof Double || v instanceof Float)) {
            n = num.longValue();
        } else {
            try {
                n = parseNumber(String.valueOf(v));
            } catch (NumberFormatException e) {
                reject(key, v, "not a number", serving);
                return serving;
            }
        }
        if (!valid.test(n)) {
            reject(key, v, rule, serving);
            return serving;
        }
        return n;
    }

    /** The boolean property {@code key}: {@code true} or {@code false} (any case), nothing else. */
    public boolean booleanValue(String key, boolean dflt, boolean serving) {
        asked.add(key);
        Object v = properties.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        String s = String.valueOf(v).strip().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("false")) {
            return s.equals("true");
        }
        reject(key, v, "not true or false", serving);
        return serving;
    }

    /** The string property {@code key} (stripped). */
    public String stringValue(String key, String dflt, String serving) {
        asked.add(key);
        Object v = properties.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof String s) {
            return s.strip();
        }
        reject(key, v, "not a string", serving);
        return serving;
    }

    /** The string-list property {@code key}: an array or collection of strings, or one string. */
    public List<String> stringsValue(String key, List<String> dflt, List<String> serving) {
        asked.add(key);
        Object v = properties.get(key);
        if (v == null) {
            return dflt;
        }
        List<String> out = new ArrayList<>();
        if (v instanceof String s) {
            out.add(s);
        } else if (v instanceof String[] a) {
            out.addAll(List.of(a));
        } else if (v instanceof Collection<?> c && c.stream().allMatch(String.class::isInstance)) {
            c.forEach(o -> out.add((String) o));
        } else {
            reject(key, v, "not a list of strings", serving);
            return serving;
        }
        return out;
    }

    /** Rejects {@code key}'s value for a reason the caller found (after reading it with a getter). */
    public void reject(String key, Object value, String why, Object serving) {
        rejected.add(pid + ": " + key + " = " + show(value) + " rejected: " + why + "; keeping " + show(serving));
    }

    /**
     * Every rejection, one line each, the unknown properties included. Call after every getter.
     */
    public List<String> rejected() {
        List<String> all = new ArrayList<>(rejected);
        for (String key : properties.keySet()) {
            if (asked.contains(key) || fixed.contains(key) || frameworks(key)) {
                continue;
            }
            String like = asked.stream().filter(k -> k.equalsIgnoreCase(key)).findFirst().orElse(null);
            all.add(pid + ": unknown property " + key + " = " + show(properties.get(key)) + " ignored"
                    + (like != null ? " (did you mean " + like + "?)" : "; known: " + String.join(", ", asked)));
        }
        return all;
    }

    /** Logs every rejection as one ERROR entry on {@code log}; returns them. */
    public List<String> report(Log log) {
        List<String> r = rejected();
        r.forEach(log::error);
        return r;
    }

    /** Logs every rejection as one ERROR line on {@code log}; returns them. */
    public List<String> report(System.Logger log) {
        List<String> r = rejected();
        r.forEach(line -> log.log(System.Logger.Level.ERROR, line));
        return r;
    }

    private static boolean frameworks(String key) {
        return key.startsWith(".") || key.startsWith("service.") || key.startsWith("component.") || key.startsWith("felix.")
                || key.startsWith("osgi.") || key.equals("objectClass");
    }

    private static String show(Object v) {
        if (v instanceof Object[] a) {
            return java.util.Arrays.toString(a);
        }
        return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }

    /**
     * {@code value} as a number: decimal (signed, or unsigned up to 2^64 − 1) or {@code 0x}
     * hex, with an optional {@code K}, {@code M} or {@code G} suffix; {@code _} may separate
     * digits. The one parser of numbers typed by people (configuration, shell arguments).
     *
     * @throws NumberFormatException if it is not one, with "overflows" in the message if it
     *     does not fit in 64 bits
     */
    public static long parseNumber(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT).replace("_", "");
        boolean negative = v.startsWith("-");
        if (negative) {
            v = v.substring(1);
        }
        long n;
        if (v.startsWith("0x")) {
            n = Long.parseUnsignedLong(v.substring(2), 16);
        } else {
            int shift = switch (v.isEmpty() ? ' ' : v.charAt(v.length() - 1)) {
                case 'k' -> 10;
                case 'm' -> 20;
                case 'g' -> 30;
                default -> 0;
            };
            n = Long.parseUnsignedLong(shift == 0 ? v : v.substring(0, v.length() - 1));
            if (shift != 0 && Long.compareUnsigned(n, -1L >>> shift) > 0) {
                throw new NumberFormatException(value + " overflows 64 bits");
            }
            n <<= shift;
        }
        if (negative && Long.compareUnsigned(n, Long.MIN_VALUE) > 0) {
            throw new NumberFormatException(value + " overflows 64 bits");
        }
        return negative ? -n : n;
    }

    /**
     * A component configuration type with every attribute at its default: the settings
     * without Config Admin (plain-Java and ServiceLoader use, and the base a DS constructor
     * applies the configuration over).
     */
    public static <A extends java.lang.annotation.Annotation> A defaults(Class<A> type) {
        return type.cast(java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, m, args) -> switch (m.getName()) {
                    case "annotationType" -> type;
                    case "toString" -> type.getSimpleName() + " defaults";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> {
                        Object v = m.getDefaultValue();
                        if (v == null) {
                            throw new IllegalStateException(type.getName() + "." + m.getName() + " has no default");
                        }
                        yield v;
                    }
                }));
    }
}
