package memmap.shell.internal;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemmapException;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.mm.internal.Backings;
import memmap.mm.internal.MemoryManager;

/** The commands over real address spaces, behind a real Gogo command processor: what the shell tests drive. */
final class Shell implements AutoCloseable {
    final MemmapCommands commands;
    private final ThreadIOImpl threadIO = new ThreadIOImpl();
    private final CommandProcessorImpl processor;
    private final Path dir;

    /** What a script printed, and its status (0: every command succeeded). */
    record Ran(int status, String out) {}

    Shell(Backings backings, Path dir) {
        this(backings, dir, null);
    }

    /** With {@code checkpoints}, the shell has {@code checkpoint} and {@code restore} too. */
    Shell(Backings backings, Path dir, memmap.api.checkpoint.Checkpoints checkpoints) {
        this.dir = dir;
        AddressSpaces spaces = new AddressSpaces() {
            @Override
            public AddressSpace create(Context ctx) {
                return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
            }

            @Override
            public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
                return backings.backing(ctx, request);
            }

            @Override
            public java.util.List<AddressSpace> live() {
                throw new UnsupportedOperationException("the shell does not list address spaces");
            }

            @Override
            public java.util.Optional<String> serving(memmap.api.provider.BackingKind kind) {
                return java.util.Optional.ofNullable(backings.serving(kind)).map(memmap.api.provider.BackingProvider::id);
            }
        };
        commands = new MemmapCommands(null, spaces);
        threadIO.start();
        processor = new CommandProcessorImpl(threadIO);
        for (String f : new String[] {"space", "spaces", "release", "mmap", "munmap", "mprotect", "msync", "read", "write", "maps",
                "fork", "mremap", "mlock", "munlock", "madvise", "shmget", "shmat", "shmdt", "shmctl", "smaps", "brk", "mincore", "pin",
                "pins", "unpin"}) {
            processor.addCommand("memmap", commands, f);
        }
        checkpointCommands = checkpoints == null ? null : new CheckpointCommands(commands, checkpoints);
        if (checkpointCommands != null) {
            processor.addCommand("memmap", checkpointCommands, "checkpoint");
            processor.addCommand("memmap", checkpointCommands, "restore");
        }
    }

    final CheckpointCommands checkpointCommands;

    /** Runs {@code lines} as a script file, as {@code ./memmap run SCRIPT} does. */
    Ran run(String... lines) throws Exception {
        Path f = dir.resolve("script.gosh");
        Files.write(f, List.of(lines), StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int status = ScriptRunner.run(processor, f, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return new Ran(status, bytes.toString(StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        if (checkpointCommands != null) {
            checkpointCommands.deactivate();
        }
        commands.deactivate();
        processor.stop();
        threadIO.stop();
    }
}
