package memmap.anon.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;

/** A component configuration type with every attribute at its default: the settings without Config Admin. */
final class Defaults {
    private Defaults() {
    }

    static <A extends Annotation> A of(Class<A> type) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, m, args) -> switch (m.getName()) {
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
