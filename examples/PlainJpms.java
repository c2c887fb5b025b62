// memmap without OSGi: the same jars on a plain JPMS module path, found through ServiceLoader.
//
//   java --enable-native-access=memmap.posix,memmap.anon,memmap.mm,memmap.api,memmap.hostfile,memmap.shm \
//        --module-path memmap.api/target/memmap.api-1.1.0-SNAPSHOT.jar:memmap.posix/target/memmap.posix-1.1.0-SNAPSHOT.jar:memmap.anon/target/memmap.anon-1.1.0-SNAPSHOT.jar:memmap.mm/target/memmap.mm-1.1.0-SNAPSHOT.jar:memmap.hostfile/target/memmap.hostfile-1.1.0-SNAPSHOT.jar:memmap.shm/target/memmap.shm-1.1.0-SNAPSHOT.jar:memmap.fallback/target/memmap.fallback-1.1.0-SNAPSHOT.jar \
//        --add-modules memmap.mm,memmap.anon,memmap.hostfile,memmap.shm,memmap.fallback examples/PlainJpms.java
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.PinnedView;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.provider.SysVSharedMemory;

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
        for (BufferedIOFallbackStrategy f : ServiceLoader.load(BufferedIOFallbackStrategy.class)) {
            System.out.println("fallback from module " + f.getClass().getModule().getName());
        }
        // A host file, through the host-file provider ServiceLoader found.
        Path file = Files.createTempFile("plain-jpms", ".txt");
        Files.writeString(file, "a host file, mapped");
        long f = as.mmap(ctx, spaces.backing(ctx, new BackingRequest.HostFile(file, false))
                .configure(MMapOpts.builder().length(4096).perms(AccessType.READ).maxPerms(AccessType.READ).build()));
        byte[] text = new byte[19];
        as.read(ctx, f, MemorySegment.ofArray(text));
        System.out.println("file: " + new String(text, StandardCharsets.US_ASCII));
        // A System V segment, through the shm provider.
        for (BackingProvider p : ServiceLoader.load(BackingProvider.class)) {
            if (p instanceof SysVSharedMemory sysv) {
                int id = sysv.get(ctx, 0, 8192, SysVSharedMemory.IPC_CREAT | 0600);
                long s = as.shmat(ctx, id, 0, 0);
                as.write(ctx, s, MemorySegment.ofArray(hello));
                System.out.println("shm segment " + id + " attached at " + Long.toHexString(s));
                as.shmdt(ctx, s);
                sysv.remove(ctx, id);
            }
        }
        // A pinned view: the memory itself, as one segment.
        try (PinnedView v = as.pin(ctx, priv, 4096, AccessType.READ, false)) {
            byte[] seen = v.segment().asSlice(100, hello.length).toArray(ValueLayout.JAVA_BYTE);
            System.out.println("pinned: " + new String(seen, StandardCharsets.US_ASCII));
        }
        System.out.print(as.maps(ctx));
        child.release(ctx);
        as.release(ctx);
        Files.delete(file);
        System.out.println("ok");
    }
}
