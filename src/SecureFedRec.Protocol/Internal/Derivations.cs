using SecureFedRec.Crypto;

namespace SecureFedRec.Protocol.Internal;

/// <summary>
/// Every label, hash and key derivation of the protocol (secagg.md §"Derivations"); the conformance vectors pin each.
/// </summary>
internal static class Derivations
{
    public const string ParametersPurpose = "secagg/round-parameters";
    public const string SessionPurpose = "secagg/session-id";
    public const string RelabelCommitPurpose = "secagg/relabel-commit";
    public const string RelabelSeedPurpose = "secagg/graph-relabel-reveals";
    public const string AdvertisePurpose = "secagg/advertise-keys";
    public const string ConsistencyPurpose = "secagg/consistency-check";
    public const string ShareEncryptionLabel = "secagg/share-encryption-key";
    public const string PairwiseSeedLabel = "secagg/pairwise-mask-seed";
    public const string SelfMaskContextPurpose = "secagg/self-mask";
    public const string PairwiseMaskContextPurpose = "secagg/pairwise-mask";

    /// <summary>Length of the plaintext of one encrypted share pair: u32be(sender) ‖ u32be(recipient) ‖ 33 ‖ 33.</summary>
    public const int SharePlaintextLength = 8 + (2 * Primitives.ShareValueLength);

    public static int ShareCiphertextLength => SharePlaintextLength + Primitives.AeadOverhead;

    /// <summary>A key list entry as hashed into the session id; <see cref="Commitment"/> is the relabelling commitment
    /// (Harary graphs) or null (full graph).</summary>
    internal readonly record struct KeyEntry(int ClientId, byte[] CipherPublicKey, byte[] MaskPublicKey, byte[]? Commitment = null);

    /// <summary>S = SHA-256(Enc("secagg/session-id", P, then per entry in increasing id: u32be(id), c_pk, s_pk[, C])),
    /// the commitment part C present exactly for Harary graphs.</summary>
    public static byte[] SessionId(ReadOnlySpan<byte> parameterDigest, IEnumerable<KeyEntry> entries)
    {
        using var builder = new StreamedHash(SessionPurpose, parameterDigest);
        foreach (KeyEntry entry in entries.OrderBy(e => e.ClientId))
        {
            builder.AddKeyEntry(entry.ClientId, entry.CipherPublicKey, entry.MaskPublicKey, entry.Commitment);
        }

        return builder.Finish();
    }

    /// <summary>
    /// SHA-256 of an encoding (<see cref="Encoder"/>'s bytes exactly) streamed part by part, for the hashes over a whole key
    /// list or every reveal (session id, relabelling seed), so a client reads an n-entry list without copying any of it.
    /// Also hashes relabelling commitments one after another (<see cref="Commitment"/>).
    /// </summary>
    /// <remarks>
    /// The parts are gathered in a pooled <see cref="FlushBytes"/>-byte buffer and handed to the hash a buffer at a time: an
    /// n = 200 key list is about 1,600 small parts, and one native hash update per part (two per part with its length
    /// prefix) cost more than the hashing itself (session 5 profile: 19% of a Flower-size client's CPU). The buffer is wiped
    /// before it goes back to the pool.
    /// </remarks>
    internal sealed class StreamedHash : IDisposable
    {
        /// <summary>Bytes gathered before one hash update (a part longer than this goes to the hash directly).</summary>
        internal const int FlushBytes = 8192;

        /// <summary>Largest commitment input: header, then the 32-byte parameter digest, u32be(id) and the 32-byte seed, each with its length.</summary>
        private const int MaxCommitmentInput = 128;

        private readonly System.Security.Cryptography.IncrementalHash _hash =
            System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);

        private byte[]? _pending;
        private int _count;

        /// <summary>A hash with no encoding started (for <see cref="Commitment"/>).</summary>
        public StreamedHash()
        {
        }

        /// <summary>Starts Enc(purpose, first, …).</summary>
        public StreamedHash(string purpose, ReadOnlySpan<byte> first)
        {
            Append(Encoder.HeaderOf(purpose));
            AddPart(first);
        }

        /// <summary>Appends one part (u32be(length) ‖ bytes).</summary>
        public void AddPart(ReadOnlySpan<byte> part)
        {
            AppendU32((uint)part.Length);
            Append(part);
        }

        /// <summary>Appends a session-id entry: u32be(id), c_pk, s_pk[, C].</summary>
        public void AddKeyEntry(int clientId, ReadOnlySpan<byte> cipherPk, ReadOnlySpan<byte> maskPk, byte[]? commitment)
        {
            AddKeyEntry(clientId, cipherPk, maskPk);
            if (commitment is not null)
            {
                AddPart(commitment);
            }
        }

        /// <summary>Appends a session-id entry without a commitment part (add it with <see cref="AddPart"/>).</summary>
        public void AddKeyEntry(int clientId, ReadOnlySpan<byte> cipherPk, ReadOnlySpan<byte> maskPk)
        {
            AppendU32(4);
            AppendU32((uint)clientId);
            AddPart(cipherPk);
            AddPart(maskPk);
        }

        /// <summary>The digest of what was appended; the hash is reset.</summary>
        public byte[] Finish()
        {
            Flush();
            return _hash.GetHashAndReset();
        }

        /// <summary>Writes <see cref="RelabelCommitment"/>(P, id, seed) into <paramref name="destination"/> (32 bytes): the
        /// encoding is built on the stack and hashed in one call. Independent of (and leaves untouched) any streamed encoding.</summary>
        public void Commitment(ReadOnlySpan<byte> parameterDigest, int clientId, ReadOnlySpan<byte> seed, Span<byte> destination)
        {
            byte[] header = Encoder.HeaderOf(RelabelCommitPurpose);
            int length = header.Length + 12 + parameterDigest.Length + 4 + seed.Length;
            if (length > MaxCommitmentInput)
            {
                // Not reached with the protocol's 32-byte digest and seed; kept exact for any length.
                Derivations.RelabelCommitment(parameterDigest, clientId, seed).CopyTo(destination);
                return;
            }

            Span<byte> input = stackalloc byte[MaxCommitmentInput];
            try
            {
                header.CopyTo(input);
                int at = header.Length;
                at = WritePart(input, at, parameterDigest);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(input[at..], 4);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(input[(at + 4)..], (uint)clientId);
                at = WritePart(input, at + 8, seed);
                Sha256.HashData(input[..at], destination);
            }
            finally
            {
                // The seed is revealed by the time commitments are checked, but the buffer is wiped like any other.
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(input);
            }
        }

        public void Dispose()
        {
            if (_pending is not null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(_pending.AsSpan(0, Math.Max(_count, 0)));
                System.Buffers.ArrayPool<byte>.Shared.Return(_pending);
                _pending = null;
                _count = 0;
            }

            _hash.Dispose();
        }

        private static int WritePart(Span<byte> destination, int at, ReadOnlySpan<byte> part)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(destination[at..], (uint)part.Length);
            part.CopyTo(destination[(at + 4)..]);
            return at + 4 + part.Length;
        }

        private void AppendU32(uint value)
        {
            Span<byte> bytes = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
            Append(bytes);
        }

        private void Append(ReadOnlySpan<byte> data)
        {
            _pending ??= System.Buffers.ArrayPool<byte>.Shared.Rent(FlushBytes);
            if (_count + data.Length > FlushBytes)
            {
                Flush();
                if (data.Length > FlushBytes)
                {
                    _hash.AppendData(data);
                    return;
                }
            }

            data.CopyTo(_pending.AsSpan(_count));
            _count += data.Length;
        }

        private void Flush()
        {
            if (_count > 0)
            {
                _hash.AppendData(_pending!.AsSpan(0, _count));
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(_pending.AsSpan(0, _count));
                _count = 0;
            }
        }
    }

    /// <summary>Relabelling commitment C_u = SHA-256(Enc("secagg/relabel-commit", P, u32be(u), r_u)) to the 32-byte seed r_u.</summary>
    public static byte[] RelabelCommitment(ReadOnlySpan<byte> parameterDigest, int clientId, ReadOnlySpan<byte> seed) =>
        Encoder.For(RelabelCommitPurpose).Add(parameterDigest).AddU32((uint)clientId).Add(seed).Sha256();

    /// <summary>
    /// Harary relabelling seed = SHA-256(Enc("secagg/graph-relabel-reveals", S, r_1, …, r_n)): the session id and every
    /// cohort member's revealed seed, in cohort (increasing id) order; graphs.md §2 turns it into the permutation.
    /// </summary>
    public static byte[] RelabelSeed(ReadOnlySpan<byte> sessionId, IEnumerable<byte[]> revealsInCohortOrder)
    {
        Encoder encoder = Encoder.For(RelabelSeedPurpose).Add(sessionId);
        foreach (byte[] reveal in revealsInCohortOrder)
        {
            encoder.Add(reveal);
        }

        return encoder.Sha256();
    }

    /// <summary>The message an identity key signs in round 0: Enc("secagg/advertise-keys", P, u32be(id), c_pk, s_pk[, C]),
    /// the relabelling commitment C present exactly for Harary graphs.</summary>
    public static byte[] AdvertiseMessage(ReadOnlySpan<byte> parameterDigest, int clientId, ReadOnlySpan<byte> cipherPk,
        ReadOnlySpan<byte> maskPk, byte[]? commitment = null)
    {
        Encoder encoder = Encoder.For(AdvertisePurpose).Add(parameterDigest).AddU32((uint)clientId).Add(cipherPk).Add(maskPk);
        if (commitment is not null)
        {
            encoder.Add(commitment);
        }

        return encoder.ToArray();
    }

    /// <summary>The consistency-check message: Enc("secagg/consistency-check", S, u64be(round), ids of survivors).</summary>
    public static byte[] ConsistencyMessage(ReadOnlySpan<byte> sessionId, ulong round, IEnumerable<int> survivors) =>
        Encoder.For(ConsistencyPurpose).Add(sessionId).AddU64(round).AddIds(survivors).ToArray();

    /// <summary>HKDF info for a pair: label with parts u32be(min id), u32be(max id).</summary>
    public static DomainLabel PairLabel(string purpose, int a, int b) =>
        DomainLabel.For(purpose).Add(Encoder.U32(Math.Min(a, b))).Add(Encoder.U32(Math.Max(a, b)));

    /// <summary>
    /// 32-byte key: HKDF-SHA256(ikm = DH(mine, peer), salt = S, info = PairLabel(purpose, a, b)). False for an invalid peer key.
    /// </summary>
    /// <remarks>Allocation-free: the info (<see cref="PairLabel"/>'s bytes exactly) is written on the stack and the shared
    /// secret never leaves a per-thread pinned buffer.</remarks>
    public static bool TryPairKey(Crypto.KeyAgreementSuite suite, PrivateKey mine, ReadOnlySpan<byte> peerPublicKey,
        ReadOnlySpan<byte> sessionId, string purpose, int a, int b, Span<byte> output)
    {
        Span<byte> info = stackalloc byte[MaxEncodedLength];
        int length = WriteEncoding(purpose, false, [], Math.Min(a, b), true, Math.Max(a, b), info);
        return Primitives.TryAgreeAndDerive(suite, mine, peerPublicKey, sessionId, info[..length], output);
    }

    /// <summary>Room on the stack for the short encodings written by <see cref="WriteEncoding"/> (pair labels, mask contexts).</summary>
    internal const int MaxEncodedLength = 160;

    /// <summary>Largest session id <see cref="WriteShareAssociatedData"/> takes (the protocol's is a 32-byte SHA-256).</summary>
    internal const int MaxShareAssociatedDataLength = 64 + 8;

    /// <summary>Length of <see cref="ShareAssociatedData"/> for a session id of <paramref name="sessionIdLength"/> bytes.</summary>
    internal static int ShareAssociatedDataLength(int sessionIdLength)
    {
        int length = sessionIdLength + 8;
        if (length > MaxShareAssociatedDataLength)
        {
            throw new ArgumentException("The session id is too long.", nameof(sessionIdLength));
        }

        return length;
    }

    /// <summary>Writes <see cref="ShareAssociatedData"/>(S, sender, recipient) into <paramref name="destination"/>
    /// (exactly <see cref="ShareAssociatedDataLength"/> bytes).</summary>
    internal static void WriteShareAssociatedData(ReadOnlySpan<byte> sessionId, int sender, int recipient, Span<byte> destination)
    {
        if (destination.Length != sessionId.Length + 8)
        {
            throw new ArgumentException("The destination must be exactly the session id's length + 8 bytes.", nameof(destination));
        }

        sessionId.CopyTo(destination);
        Primitives.WriteU32(destination[sessionId.Length..], (uint)sender);
        Primitives.WriteU32(destination[(sessionId.Length + 4)..], (uint)recipient);
    }

    /// <summary>Writes <see cref="SelfMaskContext"/> into <paramref name="destination"/>; returns its length.</summary>
    internal static int WriteSelfMaskContext(ReadOnlySpan<byte> sessionId, int clientId, Span<byte> destination) =>
        WriteEncoding(SelfMaskContextPurpose, true, sessionId, clientId, false, 0, destination);

    /// <summary>Writes <see cref="PairwiseMaskContext"/> into <paramref name="destination"/>; returns its length.</summary>
    internal static int WritePairwiseMaskContext(ReadOnlySpan<byte> sessionId, int a, int b, Span<byte> destination) =>
        WriteEncoding(PairwiseMaskContextPurpose, true, sessionId, Math.Min(a, b), true, Math.Max(a, b), destination);

    /// <summary>
    /// Enc(purpose[, first], u32be(x)[, u32be(y)]) into <paramref name="destination"/> — <see cref="Encoder"/>'s bytes exactly
    /// (header, then each part as u32be(length) ‖ bytes), the bracketed parts present when their flags say so.
    /// </summary>
    private static int WriteEncoding(string purpose, bool hasFirst, ReadOnlySpan<byte> first, int x, bool hasY, int y,
        Span<byte> destination)
    {
        byte[] header = Encoder.HeaderOf(purpose);
        int length = header.Length + (hasFirst ? 4 + first.Length : 0) + 8 + (hasY ? 8 : 0);
        if (length > destination.Length)
        {
            throw new ArgumentException("The encoding does not fit the destination.", nameof(destination));
        }

        header.CopyTo(destination);
        int at = header.Length;
        if (hasFirst)
        {
            Primitives.WriteU32(destination[at..], (uint)first.Length);
            first.CopyTo(destination[(at + 4)..]);
            at += 4 + first.Length;
        }

        Primitives.WriteU32(destination[at..], 4);
        Primitives.WriteU32(destination[(at + 4)..], (uint)x);
        at += 8;
        if (hasY)
        {
            Primitives.WriteU32(destination[at..], 4);
            Primitives.WriteU32(destination[(at + 4)..], (uint)y);
            at += 8;
        }

        return at;
    }

    /// <summary>MaskPrg context of u's self mask: Enc("secagg/self-mask", S, u32be(u)).</summary>
    public static byte[] SelfMaskContext(ReadOnlySpan<byte> sessionId, int clientId) =>
        Encoder.For(SelfMaskContextPurpose).Add(sessionId).AddU32((uint)clientId).ToArray();

    /// <summary>MaskPrg context of the pair mask: Enc("secagg/pairwise-mask", S, u32be(min), u32be(max)).</summary>
    public static byte[] PairwiseMaskContext(ReadOnlySpan<byte> sessionId, int a, int b) =>
        Encoder.For(PairwiseMaskContextPurpose).Add(sessionId).AddU32((uint)Math.Min(a, b)).AddU32((uint)Math.Max(a, b)).ToArray();

    /// <summary>AEAD associated data of an encrypted share pair: S ‖ u32be(sender) ‖ u32be(recipient).</summary>
    public static byte[] ShareAssociatedData(ReadOnlySpan<byte> sessionId, int sender, int recipient)
    {
        var ad = new byte[sessionId.Length + 8];
        sessionId.CopyTo(ad);
        Primitives.WriteU32(ad.AsSpan(sessionId.Length), (uint)sender);
        Primitives.WriteU32(ad.AsSpan(sessionId.Length + 4), (uint)recipient);
        return ad;
    }
}
