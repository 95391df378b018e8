using SecureFedRec.Roster;

namespace SecureFedRec.Client;

/// <summary>
/// Roster files this process has verified, shared by every <see cref="FederationClient"/> in it: steps 1–7 of
/// <c>protocol-spec/roster.md</c> §5 (parse, syntax, suite policy, signature, authority, uniqueness) are a pure function
/// of the file's bytes and the pinned authority, so a file that passed them once passes them again; only the steps that
/// depend on the caller — the roster's validity at <c>now</c> (8) and rollback / equivocation against the caller's own
/// checkpoint (9–10) — are checked again on every call by <see cref="RosterVerifier.Accept"/>.
/// </summary>
/// <remarks>
/// <para>Keyed by the pinned authority (suite and key), the verifier's member-suite policy and the file's bytes, compared in full (at most
/// four files of a few hundred KB: a compare costs less than hashing them): a cached result is only ever reused for exactly the bytes it was computed from, under exactly
/// the authority it was verified against. Only passing verifications are kept (a refusal is recomputed every time).
/// Steps 8–10 are <see cref="RosterVerifier.Accept"/>, the verifier's own code for them.</para>
/// <para>Why: a process hosting many clients (the networked benchmark's 1,000 SDK clients; a test harness) verified the
/// same 1,000-member roster twice per client per round, ~7 ms each; each institution in production runs its own
/// process and verifies its roster once per file as before. Bounded: at most <see cref="Capacity"/> files. Thread-safe.</para>
/// </remarks>
internal static class VerifiedRosterCache
{
    /// <summary>Most roster files held (a new one past this clears the cache).</summary>
    internal const int Capacity = 4;

    private static readonly Lock s_gate = new();
    private static readonly List<Entry> s_entries = [];

    /// <summary>Verifications answered from the cache (tests).</summary>
    internal static long Hits => Interlocked.Read(ref s_hits);

    private static long s_hits;

    /// <summary>As <paramref name="verifier"/>.Verify(<paramref name="file"/>, <paramref name="now"/>, <paramref name="lastSeen"/>), with steps 1–7 taken from the cache when this process already verified these bytes under this authority.</summary>
    internal static RosterVerification Verify(RosterVerifier verifier, ReadOnlySpan<byte> file, DateTimeOffset now, RosterCheckpoint? lastSeen)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        VerifiedRoster? held = null;
        lock (s_gate)
        {
            foreach (Entry e in s_entries)
            {
                if (e.AuthoritySuite == verifier.AuthoritySuite && e.AuthorityKey.AsSpan().SequenceEqual(verifier.AuthorityPublicKey)
                    && e.AllowedSuites.SetEquals(verifier.AllowedSuites) && e.File.AsSpan().SequenceEqual(file))
                {
                    held = e.Roster;
                    break;
                }
            }
        }

        if (held is not null)
        {
            Interlocked.Increment(ref s_hits);
            return RosterVerifier.Accept(held, now, lastSeen);
        }

        RosterVerification result = verifier.Verify(file, now, lastSeen);
        if (result.Check.Passed && result.Roster is { } roster)
        {
            var entry = new Entry(verifier.AuthoritySuite, verifier.AuthorityPublicKey.ToArray(), [.. verifier.AllowedSuites], file.ToArray(), roster);
            lock (s_gate)
            {
                if (s_entries.Count >= Capacity)
                {
                    s_entries.Clear();
                }

                s_entries.Add(entry);
            }
        }

        return result;
    }

    /// <summary>Files held (tests).</summary>
    internal static int Count
    {
        get
        {
            lock (s_gate)
            {
                return s_entries.Count;
            }
        }
    }

    /// <summary>Empties the cache (tests).</summary>
    internal static void Clear()
    {
        lock (s_gate)
        {
            s_entries.Clear();
        }
    }

    private sealed record Entry(Crypto.IdentitySuite AuthoritySuite, byte[] AuthorityKey, HashSet<Crypto.IdentitySuite> AllowedSuites, byte[] File, VerifiedRoster Roster);
}
