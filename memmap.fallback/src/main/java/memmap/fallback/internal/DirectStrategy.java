package memmap.fallback.internal;

import java.lang.foreign.MemorySegment;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import memmap.api.IoResult;
import memmap.api.MemmapFile;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/**
 * The {@code direct} strategy: one {@link MemmapFile#bufferReadAt}/{@link MemmapFile#bufferWriteAt}
 * per Block, straight into (out of) the Block's memory. No copy for native Blocks; Blocks
 * that may fault are bounced through a heap buffer so a fault ends the copy cleanly.
 * Best for large Blocks. Stateless: a copy in flight finishes even after the component has
 * gone.
 *
 * <p>Ranking: {@code service.ranking} (default 10), changeable through Config Admin (PID
 * {@code memmap.fallback.direct}) without re-registration.
 */
@Component(service = BufferedIOFallbackStrategy.class, configurationPid = "memmap.fallback.direct",
        property = {BufferedIOFallbackStrategy.NAME + "=direct", "service.ranking:Integer=10"})
@Designate(ocd = DirectStrategy.Config.class)
public final class DirectStrategy implements BufferedIOFallbackStrategy {
    /** The strategy's one setting: where it ranks among the strategies (the highest is used). */
    @ObjectClassDefinition(name = "memmap fallback: direct", description = "The direct strategy: one read or write per Block, straight into its memory.")
    @interface Config {
        @AttributeDefinition(name = "Ranking", description = "service.ranking: the strategy with the highest ranking does buffered I/O.")
        int service_ranking() default 10;
    }

    /** The DS constructor; the ranking lives in the service properties. */
    @Activate
    public DirectStrategy(Map<String, Object> properties) {
        // Nothing to set up: the strategy is stateless.
    }

    /** Ranking changes arrive here; DS re-publishes the service properties. */
    @Modified
    void modified(Map<String, Object> properties) {
        // The ranking is a service property; DS updates the registration.
    }

    @Override
    public String name() {
        return "direct";
    }

    @Override
    public IoResult read(MemmapFile file, long offset, BlockSeq dsts) {
        IoResult bad = Offsets.check(offset, dsts.numBytes());
        if (bad != null) {
            return bad;
        }
        long done = 0;
        for (BlockSeq s = dsts; !s.isEmpty(); s = s.tail()) {
            Block b = s.head();
            IoResult r;
            if (b.needSafecopy()) {
                byte[] tmp = new byte[(int) Math.min(b.length(), Integer.MAX_VALUE)];
                r = file.bufferReadAt(offset + done, MemorySegment.ofArray(tmp));
                IoResult c = Block.copy(b, Block.ofArray(tmp).takeFirst(r.n()));
                if (c.error() != null) {
                    return new IoResult(done + c.n(), c.error());
                }
            } else {
                r = file.bufferReadAt(offset + done, b.segment());
            }
            done += r.n();
            if (r.error() != null) {
                return new IoResult(done, r.error());
            }
        }
        return IoResult.ok(done);
    }

    @Override
    public IoResult write(MemmapFile file, long offset, BlockSeq srcs) {
        IoResult bad = Offsets.check(offset, srcs.numBytes());
        if (bad != null) {
            return bad;
        }
        long done = 0;
        for (BlockSeq s = srcs; !s.isEmpty(); s = s.tail()) {
            Block b = s.head();
            MemorySegment src = b.segment();
            memmap.api.MemmapError fault = null;
            if (b.needSafecopy()) {
                byte[] tmp = new byte[(int) Math.min(b.length(), Integer.MAX_VALUE)];
                IoResult c = Block.copy(Block.ofArray(tmp), b);
                src = MemorySegment.ofArray(tmp).asSlice(0, c.n());
                fault = c.error();
            }
            IoResult r = file.bufferWriteAt(offset + done, src);
            done += r.n();
            if (r.error() != null) {
                return new IoResult(done, r.error());
            }
            if (fault != null) {
                return new IoResult(done, fault);
            }
        }
        return IoResult.ok(done);
    }
}
