using System.Buffers.Binary;
using Google.Protobuf;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Rounds.Server;

/// <summary>What a <see cref="RoundJournalEntry"/> records. Closed vocabulary (the store keeps it as text).</summary>
public enum RoundJournalEntryKind
{
    /// <summary>Not set (never written).</summary>
    Unspecified = 0,

    /// <summary>A client message the session took (accepted, or one that dropped its sender).</summary>
    Message = 1,

    /// <summary>A phase close, with the phase it opened and the round's dropped clients after it.</summary>
    PhaseClosed = 2,
}

/// <summary>
/// One entry of a round's journal, after the round's plan (written by <see cref="RoundJournal.OpenAsync"/>). The body is
/// big-endian binary (<c>protocol-spec/coordinator.md</c>, "Round journal"):
/// <list type="bullet">
/// <item><see cref="RoundJournalEntryKind.Message"/>: u32 client number ‖ u32 phase open when it was taken ‖ the
/// <c>ClientToServer</c> protobuf encoding.</item>
/// <item><see cref="RoundJournalEntryKind.PhaseClosed"/>: u32 phase closed ‖ u32 phase opened ‖ u32 k ‖ k × (u32 client
/// number ‖ u32 drop reason), clients increasing: every client out of the round after the close.</item>
/// </list>
/// </summary>
/// <param name="Sequence">Position in the round's journal, from 1, without gaps.</param>
/// <param name="Kind">What it records.</param>
/// <param name="Body">Its encoding (above).</param>
public sealed record RoundJournalEntry(long Sequence, RoundJournalEntryKind Kind, ReadOnlyMemory<byte> Body)
{
    /// <summary>Largest number of dropped clients a close entry may list (the cohort bound of the protocol).</summary>
    private const int MaxDropped = 1 << 20;

    /// <summary>Encodings as received, lent by <see cref="UseReceivedEncoding"/> (weakly: they live as long as their message).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ClientToServer, byte[]> s_received = new();

    /// <summary>An accepted message of <paramref name="client"/> in <paramref name="phase"/>.</summary>
    /// <remarks>The body is the array lent by <see cref="UseReceivedEncoding"/> when there is one of the right length (its
    /// header written in place), else a new encoding of <paramref name="message"/>.</remarks>
    public static RoundJournalEntry ForMessage(long sequence, int client, Phase phase, ClientToServer message)
    {
        ArgumentNullException.ThrowIfNull(message);
        int size = message.CalculateSize();
        byte[] body;
        if (s_received.TryGetValue(message, out byte[]? received) && received.Length == 8 + size)
        {
            s_received.Remove(message);
            body = received;
        }
        else
        {
            body = new byte[8 + size];
            message.WriteTo(body.AsSpan(8));
        }

        BinaryPrimitives.WriteUInt32BigEndian(body, (uint)client);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), (uint)phase);
        return new RoundJournalEntry(sequence, RoundJournalEntryKind.Message, body);
    }

    /// <summary>
    /// Lends the journal the encoding <paramref name="message"/> was parsed from, so that <see cref="ForMessage"/> makes
    /// that array the entry's body instead of encoding a copy (a transport that received a masked input of 4·d bytes then
    /// holds it once, not twice): <paramref name="buffer"/> is 8 bytes of room for the entry's header followed by exactly
    /// the bytes <paramref name="message"/> was parsed from. The caller never writes the array afterwards; its first 8
    /// bytes are the journal's. An encoding of another length than the message's (a non-canonical one) is not used.
    /// </summary>
    public static void UseReceivedEncoding(ClientToServer message, byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, 8);
        s_received.AddOrUpdate(message, buffer);
    }

    /// <summary>The close of <paramref name="closed"/> into <paramref name="next"/>, with every dropped client after it.</summary>
    public static RoundJournalEntry ForClose(long sequence, Phase closed, Phase next, IReadOnlyDictionary<int, DropReason> dropped)
    {
        ArgumentNullException.ThrowIfNull(dropped);
        byte[] body = new byte[12 + (8 * dropped.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(body, (uint)closed);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), (uint)next);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(8), (uint)dropped.Count);
        int at = 12;
        foreach ((int client, DropReason reason) in dropped.OrderBy(kv => kv.Key))
        {
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(at), (uint)client);
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(at + 4), (uint)reason);
            at += 8;
        }

        return new RoundJournalEntry(sequence, RoundJournalEntryKind.PhaseClosed, body);
    }

    /// <summary>Decodes a message entry; false when the body is not one.</summary>
    public bool TryReadMessage(out int client, out Phase phase, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ClientToServer? message)
    {
        client = 0;
        phase = Phase.Unspecified;
        message = null;
        ReadOnlySpan<byte> body = Body.Span;
        if (Kind != RoundJournalEntryKind.Message || body.Length < 8)
        {
            return false;
        }

        uint number = BinaryPrimitives.ReadUInt32BigEndian(body);
        uint p = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        if (number is 0 or > int.MaxValue || !Enum.IsDefined((Phase)p))
        {
            return false;
        }

        try
        {
            message = ClientToServer.Parser.ParseFrom(body[8..]);
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }

        (client, phase) = ((int)number, (Phase)p);
        return true;
    }

    /// <summary>Decodes a close entry; false when the body is not one.</summary>
    public bool TryReadClose(out Phase closed, out Phase next, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IReadOnlyDictionary<int, DropReason>? dropped)
    {
        closed = next = Phase.Unspecified;
        dropped = null;
        ReadOnlySpan<byte> body = Body.Span;
        if (Kind != RoundJournalEntryKind.PhaseClosed || body.Length < 12)
        {
            return false;
        }

        uint c = BinaryPrimitives.ReadUInt32BigEndian(body);
        uint x = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        uint k = BinaryPrimitives.ReadUInt32BigEndian(body[8..]);
        if (!Enum.IsDefined((Phase)c) || !Enum.IsDefined((Phase)x) || k > MaxDropped || body.Length != 12 + (8 * (long)k))
        {
            return false;
        }

        var drops = new Dictionary<int, DropReason>((int)k);
        for (int i = 0; i < (int)k; i++)
        {
            uint client = BinaryPrimitives.ReadUInt32BigEndian(body[(12 + (8 * i))..]);
            uint reason = BinaryPrimitives.ReadUInt32BigEndian(body[(16 + (8 * i))..]);
            if (client is 0 or > int.MaxValue || !Enum.IsDefined((DropReason)reason) || !drops.TryAdd((int)client, (DropReason)reason))
            {
                return false;
            }
        }

        (closed, next, dropped) = ((Phase)c, (Phase)x, drops);
        return true;
    }
}

/// <summary>
/// Where a <see cref="RoundHost"/> makes its open round durable (<see cref="RoundHostOptions.Journal"/>; the coordinator
/// writes to its store). The coordinator holds no client secret, so everything it needs to rebuild a round is what the
/// round's clients sent it: the journal is the round's plan and cohort, then every message the session took and every
/// phase close, in the order the session saw them. <see cref="RoundHost.ResumeAsync"/> replays it into a new session
/// (deterministic: the session has no clock and no randomness) and the round continues under the same id.
/// </summary>
/// <remarks>
/// Ordering contract: <see cref="OpenAsync"/> completes before any cohort member can see the round; entries reach
/// <see cref="AppendAsync"/> in sequence order, each batch contiguous and following the last durable one, one call at a
/// time per round; a batch is durable (all of it or none) when the task completes, and a batch that failed is offered
/// again, whole, by the next flush. A throwing journal leaves the round as it was: the client's submission is not
/// acknowledged (it retries), a phase close is not published (the next tick retries the write, never another close).
/// </remarks>
public abstract class RoundJournal
{
    /// <summary>Makes a round's plan and cohort durable (before the round becomes visible).</summary>
    public abstract Task OpenAsync(RoundOpened opened, CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="entries"/> of round <paramref name="roundId"/> durable, in one write.</summary>
    public abstract Task AppendAsync(ulong roundId, IReadOnlyList<RoundJournalEntry> entries, CancellationToken cancellationToken);
}

/// <summary>A journaled round to rebuild with <see cref="RoundHost.ResumeAsync"/>.</summary>
/// <param name="Plan">The round's plan as opened (contract, threshold, graph).</param>
/// <param name="Cohort">The cohort in protocol-number order (number = index + 1).</param>
/// <param name="Entries">The journal after the plan, by sequence from 1.</param>
public sealed record RoundResume(RoundPlan Plan, IReadOnlyList<string> Cohort, IReadOnlyList<RoundJournalEntry> Entries)
{
    /// <summary>
    /// Malicious mode: the identity key each cohort member's signatures were verified under when the round opened
    /// (<see cref="RoundOpened.Identities"/>), in protocol-number order. The replay verifies the journaled signatures under
    /// these keys; null (a journal written before keys were journaled) re-resolves them from the roster.
    /// </summary>
    public IReadOnlyList<Crypto.IdentityPublicKey>? Identities { get; init; }
}

/// <summary>A journaled round that cannot be resumed (<see cref="Refusal"/> says why; nothing was resumed).</summary>
public sealed class RoundJournalException : Exception
{
    /// <summary>Creates the exception (<see cref="RoundResumeRefusal.Diverged"/>).</summary>
    public RoundJournalException(string message)
        : this(message, RoundResumeRefusal.Diverged)
    {
    }

    /// <summary>Creates the exception with its reason.</summary>
    public RoundJournalException(string message, RoundResumeRefusal refusal)
        : base(message)
    {
        Refusal = refusal;
    }

    /// <summary>Creates the exception.</summary>
    public RoundJournalException()
    {
    }

    /// <summary>Creates the exception (<see cref="RoundResumeRefusal.Diverged"/>).</summary>
    public RoundJournalException(string message, Exception innerException)
        : base(message, innerException)
    {
        Refusal = RoundResumeRefusal.Diverged;
    }

    /// <summary>Why the round was not resumed.</summary>
    public RoundResumeRefusal Refusal { get; }
}
