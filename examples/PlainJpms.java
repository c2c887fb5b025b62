// memmap without OSGi: the same jars on a plain JPMS module path, found through ServiceLoader.
//
//   java --enable-native-access=memmap.posix,memmap.anon,memmap.mm,memmap.api \
//        --module-path memmap.api/target/memmap.api-1.0.0-SNAPSHOT.jar:memmap.posix/target/memmap.posix-1.0.0-SNAPSHOT.jar:memmap.anon/target/memmap.anon-1.0.0-SNAPSHOT.jar:memmap.mm/target/memmap.mm-1.0.0-SNAPSHOT.jar \
//        --add-modules memmap.mm,memmap.anon examples/PlainJpms.java
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ServiceLoader;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;

public class PlainJpms {
    public static void main(String[] args) throws Exception {
        Context ctx = Context.background();
        for (BackingProvider p : ServiceLoader.load(BackingProvider.class)) {
            System.out.println("provider " + p.kind().id() + " from module " + p.getClass().getModule().getName());
        }
        AddressSpaces spaces = ServiceLoader.load(AddressSpaces.class).findFirst()
                .orElseThrow(() -> new IllegalStateException("no AddressSpaces on the module path"));
        AddressSpace as = spaces.create(ctx);
        long priv = as.mmap(ctx, MMapOpts.builder().length(1 << 20).isPrivate(true).build());
        long shared = as.mmap(ctx, MMapOpts.builder().length(1 << 16).build());
        byte[] hello = "hello from plain JPMS".getBytes(StandardCharsets.US_ASCII);
        as.write(ctx, priv + 100, MemorySegment.ofArray(hello));
        AddressSpace child = as.fork(ctx);
        child.write(ctx, shared, MemorySegment.ofArray(hello));
        byte[] back = new byte[hello.length];
        IoResult r = as.read(ctx, shared, MemorySegment.ofArray(back));
        System.out.println("read " + r.n() + " bytes shared with the fork: " + new String(back, StandardCharsets.US_ASCII));
        System.out.print(as.maps(ctx));
        child.release(ctx);
        as.release(ctx);
        System.out.println("ok");
    }
}
