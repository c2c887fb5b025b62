package memmap.shell.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemmapException;
import memmap.api.checkpoint.Chain;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.CheckpointResult;
import memmap.api.checkpoint.Checkpoints;
import memmap.api.checkpoint.Progress;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/**
 * The shell's {@code checkpoint} and {@code restore} (scope {@code memmap}): the address spaces
 * numbered by {@link MemmapCommands} saved to an image file, and images restored into spaces
 * numbered there. A long one prints a progress line every 64 MiB (bytes, rate, time left).
 * {@code checkpoint} starts a chain; {@code checkpoint --incremental} saves what the same spaces
 * wrote since the last image.
 */
@Component(service = CheckpointCommands.class, property = {"osgi.command.scope=memmap", "osgi.command.function=checkpoint",
        "osgi.command.function=restore"})
public final class CheckpointCommands {
    private static final Context CTX = Context.background();

    private final MemmapCommands commands;
    private final Checkpoints checkpoints;
    /** The last image's chain and the spaces it saved (guarded by this). */
    private Chain chain;
    private List<AddressSpace> chainSpaces = List.of();

    @Activate
    public CheckpointCommands(@Reference MemmapCommands commands, @Reference Checkpoints checkpoints) {
        this.commands = commands;
        this.checkpoints = checkpoints;
    }

    @Deactivate
    synchronized void deactivate() {
        if (chain != null) {
            chain.close();
            chain = null;
        }
    }

    @Descriptor("save address spaces (all made here if none is named) to a new image file; --incremental: only what they wrote since the last checkpoint")
    public synchronized String checkpoint(
            @Descriptor("save only what was written since the last checkpoint of the same spaces") @Parameter(names = "--incremental", presentValue = "true", absentValue = "false") boolean incremental,
            @Descriptor("the image file to write (must not exist)") String file,
            @Descriptor("address space numbers") String... spaces) throws MemmapException {
        Path path = path("file", file);
        List<AddressSpace> list = new ArrayList<>();
        if (spaces.length == 0) {
            list.addAll(commands.spacesByNumber().values());
            if (list.isEmpty()) {
                throw new IllegalArgumentException("no address space to save: make one with space, or name them");
            }
        }
        for (String s : spaces) {
            list.add(commands.spaceNumbered(s));
        }
        if (incremental && (chain == null || !chainSpaces.equals(list))) {
            throw new IllegalArgumentException("--incremental: " + (chain == null ? "no checkpoint was taken here to follow"
                    : "the last checkpoint saved other spaces (" + numbers(chainSpaces) + ")") + "; take a full one first");
        }
        for (int i = 0; i < list.size(); i++) {
            if (list.indexOf(list.get(i)) != i) {
                throw new IllegalArgumentException("spaces = " + String.join(" ", spaces) + ": space " + spaces[i] + " is named twice");
            }
        }
        CheckpointResult r;
        boolean created = false;
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            created = true;
            r = checkpoints.checkpoint(CTX, list, out, incremental ? CheckpointOpts.after(chain).withProgress(progress("checkpoint " + file))
                    : CheckpointOpts.startChain().withProgress(progress("checkpoint " + file)));
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException("file = " + file + " exists: a checkpoint writes a new file");
        } catch (IOException e) {
            deleteQuietly(path, created);
            throw new IllegalArgumentException("file = " + file + " cannot be written: " + e.getMessage());
        } catch (MemmapException | RuntimeException e) {
            deleteQuietly(path, created); // no half-written image is left to be restored later
            throw e;
        } finally {
            if (incremental) {
                chain = null; // a failed image ends the chain; a good one returns the next
            }
        }
        if (chain != null) {
            chain.close();
        }
        chain = r.chain();
        chainSpaces = List.copyOf(list);
        return "checkpoint " + file + ": spaces " + numbers(list) + ", depth " + r.depth() + ", " + r.pages() + " pages, "
                + r.zeroPages() + " zero pages, " + r.sharedPages() + " shared, " + r.bytes() + " bytes, stopped "
                + r.pauseNanos() / 1_000_000 + " ms";
    }

    @Descriptor("restore an image (a full one, then the incremental ones after it, in order) into new address spaces numbered here")
    public String restore(
            @Descriptor("return once the metadata is read; pages load in the background") @Parameter(names = "--lazy", presentValue = "true", absentValue = "false") boolean lazy,
            @Descriptor("image files, the full one first") String... files) throws MemmapException {
        if (files.length == 0) {
            throw new IllegalArgumentException("no image file: name the full image (and the incremental ones after it)");
        }
        List<Path> chainFiles = new ArrayList<>();
        for (String f : files) {
            chainFiles.add(path("file", f));
        }
        RestoreOpts opts = (lazy ? RestoreOpts.LAZY : RestoreOpts.EAGER).withProgress(lazy ? Progress.NONE : progress("restore"));
        Restored r = checkpoints.restore(CTX, chainFiles, opts);
        List<Integer> numbers = new ArrayList<>();
        for (AddressSpace as : r.spaces()) {
            numbers.add(commands.adopt(as));
        }
        StringBuilder sb = new StringBuilder("restored " + String.join(" ", files) + ": spaces " + numbers);
        if (lazy) {
            sb.append(", ").append(r.pendingBytes()).append(" bytes loading in the background");
        }
        return sb.toString();
    }

    private static void deleteQuietly(Path p, boolean created) {
        if (created) {
            try {
                java.nio.file.Files.deleteIfExists(p);
            } catch (IOException e) {
                // the error being reported says more than this one would
            }
        }
    }

    private static Path path(String name, String value) {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(name + " = " + value + " is not a path: " + e.getReason());
        }
    }

    private String numbers(List<AddressSpace> list) {
        List<Integer> out = new ArrayList<>();
        for (AddressSpace as : list) {
            for (Map.Entry<Integer, AddressSpace> e : commands.spacesByNumber().entrySet()) {
                if (e.getValue() == as) {
                    out.add(e.getKey());
                }
            }
        }
        return out.toString();
    }

    /** Progress lines on this command's output, at most one per 64 MiB (the operation's own pace). */
    private static Progress progress(String what) {
        java.io.PrintStream out = System.out; // Gogo's: this command's session
        return (done, total, nanos) -> {
            if (total >= (64L << 20)) {
                out.println(what + ": " + Progress.line(done, total, nanos));
            }
        };
    }
}
