package memmap.mm.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.zip.CRC32C;

import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.checkpoint.ImageException;
import memmap.api.checkpoint.Progress;

/**
 * Reads one image from a stream, front to back, into a {@link FrameStore}: page bytes go from
 * the channel straight into the memory file's pages; each record's checksum is checked on what
 * landed there.
 */
final class ImageReader {
    private final String image;
    private final ReadableByteChannel in;
    private final FrameStore store;
    private final Progress progress;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(ImageFormat.RUN_PAGES << Pages.PAGE_SHIFT);
    private final long started = System.nanoTime();
    private long at;
    private long lastProgress;
    long pageBytesDone;
    ImageFormat.Header header;
    ImageMeta meta;

    ImageReader(String image, ReadableByteChannel in, FrameStore store, Progress progress) {
        this.image = image;
        this.in = in;
        this.store = store;
        this.progress = progress;
    }

    /** Reads the header and the metadata record. */
    /** Bytes of the image read so far. */
    long position() {
        return at;
    }

    ImageFormat.Header begin() throws ImageException {
        header = ImageFormat.readHeader(image, in);
        at = ImageFormat.HEADER_BYTES;
        ImageFormat.RecordHead h = ImageFormat.readRecordHead(image, in, at);
        if (h == null) {
            throw new ImageException(image + " is truncated: it ends after the header, before its metadata record");
        }
        if (h.type() != ImageFormat.META) {
            throw new ImageException(image + ": the first record is " + ImageFormat.typeName(h.type()) + ", not metadata (the image is corrupt)");
        }
        at += ImageFormat.RECORD_HEAD;
        ByteBuffer b = ByteBuffer.allocate(h.length());
        ImageFormat.readExactly(image, in, b, "the metadata record", at);
        at += h.length();
        CRC32C c = new CRC32C();
        c.update(b.array());
        if ((int) c.getValue() != h.crc()) {
            throw new ImageException(image + ": the metadata record at byte " + h.at() + " fails its checksum (the image is corrupt)");
        }
        meta = ImageMeta.decode(image, b.array());
        return header;
    }

    /** Reads the page records up to the end record (inclusive). */
    void pages() throws MemmapException {
        long records = 1;
        while (true) {
            ImageFormat.RecordHead h = ImageFormat.readRecordHead(image, in, at);
            if (h == null) {
                throw new ImageException(image + " is truncated: it ends at byte " + at + " without its end record");
            }
            at += ImageFormat.RECORD_HEAD;
            if (h.type() == ImageFormat.END) {
                ImageFormat.readEnd(image, in, h, at, records, pageBytesDone);
                at += 16;
                progress.update(pageBytesDone, meta.pageBytes(), System.nanoTime() - started);
                return;
            }
            if (h.type() != ImageFormat.PAGES) {
                throw new ImageException(image + ": a second " + ImageFormat.typeName(h.type()) + " record at byte " + h.at() + " (corrupt)");
            }
            pageRecord(h);
            records++;
        }
    }

    private void pageRecord(ImageFormat.RecordHead h) throws MemmapException {
        ImageFormat.PageHead ph = ImageFormat.readPageHead(image, in, h, at);
        // The page bytes into a buffer of the reader's own, checked, then into the frames: the
        // checksum never reads memory the store is still faulting in.
        ByteBuffer data = scratch.clear().limit(ph.withBytes() << Pages.PAGE_SHIFT);
        ImageFormat.readExactly(image, in, data, "the pages record at byte " + h.at(), at + ph.prefixBytes());
        data.flip();
        CRC32C c = new CRC32C();
        c.update(ph.fixed().array());
        c.update(ph.bitmap());
        c.update(data.duplicate());
        if ((int) c.getValue() != h.crc()) {
            throw new ImageException(image + ": " + ph.where(h) + " fails its checksum (the image is corrupt)");
        }
        store.fill(ph, MemorySegment.ofBuffer(data), store.slots(ph.space(), ph.off(), ph.end(), ph.memCgId()));
        at += h.length();
        pageBytesDone += (long) ph.n() << Pages.PAGE_SHIFT;
        if (pageBytesDone - lastProgress >= (64L << 20)) {
            lastProgress = pageBytesDone;
            progress.update(pageBytesDone, meta.pageBytes(), System.nanoTime() - started);
        }
    }
}
