using System.Buffers.Binary;
using Google.Protobuf;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// Round 2 (Bonawitz Fig. 4 "MaskedInputCollection"): accepts the shares addressed to this client (senders U2 ∩ N(u)),
/// decrypts and checks each, and sends y = x + PRG(b_u) + Σ_{v∈U2∩N(u), v&gt;u} PRG(s_uv) − Σ_{v&lt;u} PRG(s_uv) mod 2^b,
/// fused in L1-sized chunks over all k + 1 masks (<see cref="MaskStream"/> read at the chunk's offset) straight into the
/// wire-encoded buffer: the only d-sized allocation of the round is that buffer, which is the message itself (rented from
/// <see cref="ClientOptions.MaskedVectorPool"/> in process, so a simulation allocates no d-sized array per client).
/// </summary>
public sealed class ClientMaskedInputState : ClientState
{
    internal ClientMaskedInputState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.MaskedInput;

    private protected override ClientStep OnMaskedInputRequest(MaskedInputRequest message)
    {
        SecAggParameters p = Context.P;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Abort(ClientAbortReason.WrongSession);
        }

        int[] keyNeighbours = Context.KeyNeighbours;
        uint previous = 0;
        foreach (EncryptedShare share in message.Shares)
        {
            if (share.PeerId <= previous || share.PeerId > int.MaxValue || Array.BinarySearch(keyNeighbours, (int)share.PeerId) < 0)
            {
                return Abort(ClientAbortReason.UnknownOrDuplicateClient);
            }

            previous = share.PeerId;
        }

        if (message.Shares.Count + 1 < p.Threshold)
        {
            return Abort(ClientAbortReason.TooFewSurvivors);
        }

        var received = new List<(int Sender, byte[] SeedShare, byte[] KeyShare)>(message.Shares.Count);
        Span<byte> plaintext = stackalloc byte[Derivations.SharePlaintextLength];
        Span<byte> associatedData = stackalloc byte[Derivations.MaxShareAssociatedDataLength];
        associatedData = associatedData[..Derivations.ShareAssociatedDataLength(Context.SessionId.Length)];
        try
        {
            foreach (EncryptedShare share in message.Shares)
            {
                int v = (int)share.PeerId;
                Derivations.WriteShareAssociatedData(Context.SessionId, v, ClientId, associatedData);
                if (share.Ciphertext.Length != Derivations.ShareCiphertextLength
                    || !Primitives.TryOpen(Context.ShareEncryptionKeys[v], associatedData, share.Ciphertext.Span, plaintext)
                    || BinaryPrimitives.ReadUInt32BigEndian(plaintext) != (uint)v
                    || BinaryPrimitives.ReadUInt32BigEndian(plaintext[4..]) != (uint)ClientId)
                {
                    WipeAll(received);
                    return Abort(ClientAbortReason.BadCiphertext);
                }

                received.Add((v, plaintext.Slice(8, Primitives.ShareValueLength).ToArray(),
                    plaintext.Slice(8 + Primitives.ShareValueLength, Primitives.ShareValueLength).ToArray()));
            }
        }
        finally
        {
            Primitives.Wipe(plaintext);
        }

        uint[] input = Context.Options.Input(p);
        if (input is null || input.Length != p.Dimension)
        {
            WipeAll(received);
            throw new ArgumentException($"The input must have exactly d = {p.Dimension} elements.", nameof(message));
        }

        // The masked vector is built in place in its wire encoding (d little-endian u32 words): no second d-word copy. Not
        // zeroed first: every word is written (input copied chunk by chunk) before any mask is added, and nothing of it
        // leaves this method unless all of it was.
        uint modulus = p.ValueMask;
        int encodedLength = 4 * p.Dimension;
        System.Buffers.ArrayPool<byte>? pool = Context.Options.MaskedVectorPool;
        byte[] encoded = pool is null ? GC.AllocateUninitializedArray<byte>(encodedLength) : pool.Rent(encodedLength);
        Span<uint> masked = VectorCodec.AsWords(encoded, encodedLength);
        if (modulus != uint.MaxValue)
        {
            for (int i = 0; i < input.Length; i++)
            {
                if (input[i] > modulus)
                {
                    WipeAll(received);
                    pool?.Return(encoded);
                    throw new ArgumentException($"Input element {i} is not below 2^{p.Bits}.", nameof(message));
                }
            }
        }

        // One mask stream per mask (self + one per neighbour in U2): pair seeds derived, keys expanded, seeds wiped at once.
        var streams = new List<(MaskStream Stream, bool Subtract)>(received.Count + 1);
        try
        {
            Span<byte> maskContext = stackalloc byte[Derivations.MaxEncodedLength];
            int contextLength = Derivations.WriteSelfMaskContext(Context.SessionId, ClientId, maskContext);
            streams.Add((MaskStream.Open(Context.SelfSeed, maskContext[..contextLength], p.Bits), false));
            Span<byte> seed = stackalloc byte[Primitives.SeedLength];
            try
            {
                foreach ((int v, _, _) in received)
                {
                    ReadOnlySpan<byte> peerMaskKey = Context.NeighbourMaskKeys[Array.BinarySearch(keyNeighbours, v)].Span;
                    if (!Derivations.TryPairKey(p.Suite, Context.MaskKey!, peerMaskKey, Context.SessionId,
                            Derivations.PairwiseSeedLabel, ClientId, v, seed))
                    {
                        WipeAll(received);
                        pool?.Return(encoded);
                        return Abort(ClientAbortReason.MalformedMessage);
                    }

                    // +PRG(s_uv) towards larger ids, −PRG(s_uv) towards smaller ones.
                    contextLength = Derivations.WritePairwiseMaskContext(Context.SessionId, ClientId, v, maskContext);
                    streams.Add((MaskStream.Open(seed, maskContext[..contextLength], p.Bits), v < ClientId));
                }
            }
            finally
            {
                Primitives.Wipe(seed);
            }

            BuildMaskedVector(input, masked, streams);
        }
        finally
        {
            foreach ((MaskStream stream, _) in streams)
            {
                stream.Dispose();
            }
        }

        foreach ((int v, byte[] seedShare, byte[] keyShare) in received)
        {
            Context.HeldShares[v] = (seedShare, keyShare);
        }

        var reply = new ClientToServer
        {
            MaskedInput = new MaskedInput
            {
                RoundNumber = p.RoundNumber,
                ClientId = (uint)ClientId,
                MaskedVector = UnsafeByteOperations.UnsafeWrap(VectorCodec.FinishInPlace(encoded, encodedLength).AsMemory(0, encodedLength)),
            },
        };
        ClientState next = p.IsMalicious ? new ClientConsistencyCheckState(Context) : new ClientUnmaskingState(Context);
        return Next(next, reply);
    }

    /// <summary>Words per chunk of the fused construction: 16 KiB, so the chunk stays in L1 while every stream passes over it.</summary>
    internal const int ChunkWords = 4096;

    /// <summary>
    /// masked = input + Σ ±mask_s mod 2^b, chunk by chunk: each <see cref="ChunkWords"/>-word piece is copied from the input and
    /// then every stream's keystream for that piece is fused into it while it is hot in L1, instead of k + 1 passes over the
    /// whole d-word vector (which for d = 10^5 leaves L1 and, with several clients per core, L2). Same result as whole-stream
    /// <see cref="MaskPrg"/> calls (pinned by <c>MaskStream</c>'s offset tests and the protocol's mask properties).
    /// </summary>
    internal static void BuildMaskedVector(ReadOnlySpan<uint> input, Span<uint> masked, List<(MaskStream Stream, bool Subtract)> streams)
    {
        for (int start = 0; start < masked.Length; start += ChunkWords)
        {
            int length = Math.Min(ChunkWords, masked.Length - start);
            Span<uint> piece = masked.Slice(start, length);
            input.Slice(start, length).CopyTo(piece);
            foreach ((MaskStream stream, bool subtract) in streams)
            {
                if (subtract)
                {
                    stream.SubtractMask(start, piece);
                }
                else
                {
                    stream.AddMask(start, piece);
                }
            }
        }
    }

    private static void WipeAll(List<(int Sender, byte[] SeedShare, byte[] KeyShare)> shares)
    {
        foreach ((_, byte[] a, byte[] b) in shares)
        {
            Primitives.Wipe(a);
            Primitives.Wipe(b);
        }
    }
}
