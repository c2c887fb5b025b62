package memmap.fallback.internal;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.Pipe;

import memmap.api.AccessType;
import memmap.api.BufferedIOFallback;
import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.MemmapFile;
import memmap.api.safemem.BlockSeq;

/**
 * A File that cannot be mapped, over a real file channel or a real OS pipe: what the
 * strategies are for. Follows the seed's rules (never short without an error).
 */
final class ChannelFile implements MemmapFile {
    private final FileChannel file;
    private final Pipe pipe;
    int calls;

    ChannelFile(FileChannel file) {
        this.file = file;
        this.pipe = null;
    }

    ChannelFile(Pipe pipe) {
        this.file = null;
        this.pipe = pipe;
    }

    @Override
    public IoResult bufferReadAt(long off, MemorySegment dst) {
        calls++;
        ByteBuffer bb = dst.asByteBuffer();
        long done = 0;
        try {
            while (bb.hasRemaining()) {
                int n = file != null ? file.read(bb, off + done) : pipe.source().read(bb);
                if (n < 0) {
                    return new IoResult(done, EndOfFile.INSTANCE);
                }
                done += n;
            }
        } catch (NonReadableChannelException e) {
            return new IoResult(done, Errno.EBADF.withDetail("not open for reading"));
        } catch (IOException e) {
            return new IoResult(done, Errno.EIO.withDetail(e.getMessage()));
        }
        return IoResult.ok(done);
    }

    @Override
    public IoResult bufferWriteAt(long off, MemorySegment src) {
        calls++;
        ByteBuffer bb = src.asByteBuffer();
        long done = 0;
        try {
            while (bb.hasRemaining()) {
                done += file != null ? file.write(bb, off + done) : pipe.sink().write(bb);
            }
        } catch (NonWritableChannelException e) {
            return new IoResult(done, Errno.EBADF.withDetail("not open for writing"));
        } catch (IOException e) {
            return new IoResult(done, Errno.EIO.withDetail(e.getMessage()));
        }
        return IoResult.ok(done);
    }

    @Override
    public BlockSeq mapInternal(FileRange fr, AccessType at) throws MemmapException {
        throw new MemmapException(BufferedIOFallback.INSTANCE);
    }

    @Override
    public void incRef(FileRange fr, int memCgId) {}

    @Override
    public void decRef(FileRange fr) {}

    @Override
    public int dataFd(FileRange fr) {
        return -1;
    }

    @Override
    public int fd() {
        return -1;
    }
}
