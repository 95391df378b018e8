namespace SecureFedRec.Roster;

/// <summary>One cohort member as the coordinator announced it: a name and, when the announcement carries one, the identity
/// key it claims for that member.</summary>
/// <param name="Organisation">The member's organisation.</param>
/// <param name="ClientId">The member's client id.</param>
/// <param name="PresentedKey">The key announced for it (empty: none announced; the roster's key is used).</param>
public readonly record struct CohortMember(string Organisation, string ClientId, ReadOnlyMemory<byte> PresentedKey = default);

/// <summary>The result of <see cref="CohortPolicy.Check"/>.</summary>
/// <param name="Check">The outcome; on refusal names the first failing member (in cohort order) or the policy.</param>
/// <param name="Members">The roster entries of the cohort, in cohort order (empty on refusal): verify members' signatures
/// with these keys, never with keys the coordinator supplies.</param>
/// <param name="Organisations">Distinct organisations in the cohort (0 on refusal).</param>
public sealed record CohortCheck(RosterCheck Check, IReadOnlyList<RosterMember> Members, int Organisations);

/// <summary>
/// The client-side cohort policy (<c>protocol-spec/roster.md</c> §5.3): every cohort member is a current member of the
/// verified roster holding the announced key, no member appears twice, and the cohort spans at least
/// <see cref="MinOrganisations"/> distinct organisations (so a coordinator cannot fill a cohort with sybils of one
/// organisation, nor with identities it made up).
/// </summary>
/// <remarks>Immutable and thread-safe. Call it before generating any round key.</remarks>
public sealed class CohortPolicy
{
    /// <summary>Creates a policy requiring at least <paramref name="minOrganisations"/> distinct organisations (≥ 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minOrganisations"/> &lt; 1.</exception>
    public CohortPolicy(int minOrganisations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minOrganisations, 1);
        MinOrganisations = minOrganisations;
    }

    /// <summary>The least number of distinct organisations a cohort must span.</summary>
    public int MinOrganisations { get; }

    /// <summary>Checks <paramref name="cohort"/> against <paramref name="roster"/> at <paramref name="now"/>. Order: empty
    /// cohort; for each member in cohort order: duplicate, then <see cref="VerifiedRoster.CheckMember"/>; then the
    /// organisation count.</summary>
    public CohortCheck Check(VerifiedRoster roster, IReadOnlyList<CohortMember> cohort, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(roster);
        ArgumentNullException.ThrowIfNull(cohort);
        if (cohort.Count == 0)
        {
            return Refuse(RosterRefusal.EmptyCohort, "the cohort has no members");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var organisations = new HashSet<string>(StringComparer.Ordinal);
        var members = new List<RosterMember>(cohort.Count);
        for (int i = 0; i < cohort.Count; i++)
        {
            CohortMember c = cohort[i];
            if (c.Organisation is null || c.ClientId is null)
            {
                return Refuse(RosterRefusal.NotInRoster, $"cohort[{i}]: no organisation or client id");
            }

            string name = c.Organisation + "/" + c.ClientId;
            if (!seen.Add(name))
            {
                return Refuse(RosterRefusal.DuplicateCohortMember, $"cohort[{i}]: {name} appears twice");
            }

            RosterCheck member = roster.CheckMember(c.Organisation, c.ClientId, now, c.PresentedKey.Span, out RosterMember? entry);
            if (!member.Passed)
            {
                return Refuse(member.Refusal, $"cohort[{i}]: {member.Detail}");
            }

            members.Add(entry!);
            organisations.Add(entry!.Organisation);
        }

        if (organisations.Count < MinOrganisations)
        {
            return Refuse(RosterRefusal.TooFewOrganisations,
                $"the cohort spans {organisations.Count} organisation(s), the policy requires at least {MinOrganisations}");
        }

        return new CohortCheck(RosterCheck.Ok, members, organisations.Count);
    }

    private static CohortCheck Refuse(RosterRefusal refusal, string detail) => new(new RosterCheck(refusal, detail), [], 0);
}
