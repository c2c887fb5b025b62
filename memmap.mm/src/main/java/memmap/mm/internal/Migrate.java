package memmap.mm.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.checkpoint.ImageException;
import memmap.api.checkpoint.MigrateOpts;
import memmap.api.checkpoint.MigrationReport;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/**
 * Live migration: a chain of images over one stream. Round 0 and each pre-copy round are
 * images flagged {@link ImageFormat#FLAG_ROUND}: their metadata and page runs are taken in a
 * brief stop (the chain's references and write tracking armed there), their pages read and sent
 * while writers run — a page written meanwhile is logged and sent again. The last image is taken
 * and sent in a stop held until the other side answers: one byte, 1 once the spaces run there
 * (the source then releases its own), or 0 and a UTF-8 message if restoring failed (the source
 * then runs on as it was).
 */
final class Migrate {
    private final CheckpointService service;
    private final ProviderSwap swap;

    Migrate(CheckpointService service, ProviderSwap swap) {
        this.service = service;
        this.swap = swap;
    }

    MigrationReport send(Context ctx, List<MemoryManager> mms, ByteChannel ch, MigrateOpts opts) throws MemmapException {
        long t0 = System.nanoTime();
        MemoryFile mf = service.backings().memoryFile();
        CheckpointChain chain = new CheckpointChain(mf, swap);
        chain.claim(mf);
        List<Long> roundBytes = new ArrayList<>();
        long sent = 0;
        try {
            CheckpointChain parent = null;
            for (int round = 0; ; round++) {
                UUID id = UUID.randomUUID();
                Capture c = new Capture(ctx, swap, mf, sysv(), parent);
                ImageFormat.Header h;
                try (Stop stop = new Stop(ctx, mms)) {
                    c.take(mms);
                    h = new ImageFormat.Header(ImageFormat.VERSION, ImageFormat.FLAG_ROUND | (parent == null ? 0 : ImageFormat.FLAG_INCREMENTAL),
                            id, parent == null ? ImageFormat.NONE : chain.imageId(), round + 1);
                    chain.advance(id, c, mms);
                }
                ImageWriter w = new ImageWriter(ch, opts.progress(), true);
                w.header(h);
                w.meta(c.meta);
                w.pages(c.runs);
                w.end();
                sent += w.bytes;
                roundBytes.add(c.meta.pageBytes());
                parent = chain;
                if (round > 0 && (c.meta.pageBytes() <= opts.stopBelowBytes() || round + 1 >= opts.maxRounds())) {
                    break;
                }
                if (round == 0 && opts.maxRounds() == 1) {
                    break;
                }
            }
            // The stop: the last dirty pages and the metadata, held until the other side runs them.
            long stopAt = System.nanoTime();
            UUID id = UUID.randomUUID();
            Capture c = new Capture(ctx, swap, mf, sysv(), chain);
            try (Stop stop = new Stop(ctx, mms)) {
                c.take(mms);
                ImageWriter w = new ImageWriter(ch, opts.progress());
                w.header(new ImageFormat.Header(ImageFormat.VERSION, ImageFormat.FLAG_INCREMENTAL, id, chain.imageId(), roundBytes.size() + 1));
                w.meta(c.meta);
                w.pages(c.runs);
                w.end();
                sent += w.bytes;
                roundBytes.add(c.meta.pageBytes());
                answer(ch);
                // Released inside the stop, so no write lands after the last image; the chain still
                // holds a reference on every frame saved, so nothing is freed here (freeing 1 GiB
                // takes a quarter of a second): the pages go when the chain closes, after the stop.
                for (MemoryManager mm : mms) {
                    mm.release(ctx);
                }
            }
            long now = System.nanoTime();
            chain.close();
            Events.Migration event = new Events.Migration();
            if (event.shouldCommit()) {
                event.spaces = mms.size();
                event.rounds = roundBytes.size() - 2;
                event.bytes = sent;
                event.downtimeNanos = now - stopAt;
                event.commit();
            }
            MigrationReport r = new MigrationReport(roundBytes.size() - 1, roundBytes, sent, now - stopAt, now - t0);
            Logging.CHECKPOINT.info(() -> "memmap.mm: migrated " + mms.size() + " address spaces: " + r.rounds()
                    + " rounds, " + r.bytes() + " bytes, down " + r.downtimeNanos() / 1_000_000 + " ms, " + r.totalNanos() / 1_000_000 + " ms in all");
            return r;
        } finally {
            chain.close();
        }
    }

    private memmap.api.provider.SysVSharedMemory sysv() {
        try {
            return service.backings().sysv();
        } catch (MemmapException e) {
            return null;
        }
    }

    /** Waits for the other side's answer; EIO with its message if it could not restore. */
    private static void answer(ByteChannel ch) throws MemmapException {
        ByteBuffer b = ByteBuffer.allocate(3);
        ImageFormat.readExactly("the migration's answer", ch, b.limit(1), "the answer", 0);
        if (b.get(0) == 1) {
            return;
        }
        b.clear().limit(3);
        ImageFormat.readExactly("the migration's answer", ch, b.position(1), "the answer", 1);
        int len = b.getShort(1) & 0xffff;
        ByteBuffer msg = ByteBuffer.allocate(len);
        ImageFormat.readExactly("the migration's answer", ch, msg, "the answer", 3);
        throw Errno.EIO.exception("the other side could not restore: " + new String(msg.array(), StandardCharsets.UTF_8));
    }

    Restored receive(Context ctx, ByteChannel ch, RestoreOpts opts) throws MemmapException {
        if (opts.lazy()) {
            throw new IllegalArgumentException("opts.lazy = true: a migration's pages all arrive before the stop ends");
        }
        FrameStore store = new FrameStore(service.backings().memoryFile(), true);
        try {
            UUID last = null;
            for (int i = 0; ; i++) {
                String name = "migration image " + i;
                ImageReader r = new ImageReader(name, ch, store, opts.progress());
                ImageFormat.Header h;
                try {
                    h = r.begin();
                    last = CheckpointService.link(name, h, i, last, List.of("migration image " + (i - 1)));
                    r.pages();
                } catch (MemmapException e) {
                    refuse(ch, e);
                    throw e;
                }
                if ((h.flags() & ImageFormat.FLAG_ROUND) != 0) {
                    continue;
                }
                List<MemoryManager> made;
                try {
                    made = new Rebuild(ctx, name, r.meta, store, service.backings(), null).run();
                } catch (MemmapException | RuntimeException e) {
                    refuse(ch, e);
                    throw e;
                }
                try {
                    ImageFormat.writeFully(ch, ByteBuffer.wrap(new byte[] {1}));
                } catch (IOException e) {
                    made.forEach(mm -> mm.release(ctx));
                    throw new ImageException("telling the other side that the spaces run here failed: " + e, e);
                }
                return new CheckpointService.RestoredSpaces(new ArrayList<>(made));
            }
        } finally {
            store.free();
        }
    }

    private static void refuse(ByteChannel ch, Exception e) {
        byte[] m = String.valueOf(e.getMessage()).getBytes(StandardCharsets.UTF_8);
        int len = Math.min(m.length, 65535);
        ByteBuffer b = ByteBuffer.allocate(3 + len).put((byte) 0).putShort((short) len).put(m, 0, len).flip();
        try {
            ImageFormat.writeFully(ch, b);
        } catch (IOException ignored) {
            // The other side sees the stream end instead.
        }
    }
}
