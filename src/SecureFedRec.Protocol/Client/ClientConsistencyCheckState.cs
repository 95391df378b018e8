using Google.Protobuf;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// Round 3, malicious mode only (Bonawitz Fig. 4 "ConsistencyCheck"): accepts the survivor list U3, checks that it
/// contains this client, that every surviving neighbour sent it shares and that at least t of its neighbourhood survive,
/// then signs session id ‖ round ‖ U3 with its enrolled identity.
/// </summary>
public sealed class ClientConsistencyCheckState : ClientState
{
    internal ClientConsistencyCheckState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.ConsistencyCheck;

    private protected override ClientStep OnConsistencyCheckRequest(ConsistencyCheckRequest message)
    {
        SecAggParameters p = Context.P;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Abort(ClientAbortReason.WrongSession);
        }

        if (!ClientChecks.TryReadIds(message.Survivors, p, out int[]? survivors))
        {
            return Abort(ClientAbortReason.UnknownOrDuplicateClient);
        }

        ClientAbortReason? problem = ClientChecks.CheckSurvivors(Context, survivors);
        if (problem is { } reason)
        {
            return Abort(reason);
        }

        byte[] signed = Derivations.ConsistencyMessage(Context.SessionId, p.RoundNumber, survivors);
        Context.SignedSurvivors = survivors;
        var reply = new ClientToServer
        {
            ConsistencySignature = new ConsistencySignature
            {
                RoundNumber = p.RoundNumber,
                ClientId = (uint)ClientId,
                Signature = ByteString.CopyFrom(Primitives.Sign(Context.Options.Identity!, signed)),
            },
        };
        return Next(new ClientUnmaskingState(Context), reply);
    }
}

/// <summary>Checks shared by the consistency-check and unmasking states.</summary>
internal static class ClientChecks
{
    /// <summary>Reads a strictly increasing list of cohort ids; false for an unknown or repeated id.</summary>
    public static bool TryReadIds(IReadOnlyList<uint> wire, SecAggParameters p,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out int[]? ids)
    {
        var read = new int[wire.Count];
        uint previous = 0;
        for (int i = 0; i < read.Length; i++)
        {
            uint id = wire[i];
            if (id <= previous || id > int.MaxValue || !p.Contains((int)id))
            {
                ids = null;
                return false;
            }

            previous = id;
            read[i] = (int)id;
        }

        ids = read;
        return true;
    }

    /// <summary>
    /// The survivor list must contain this client, every neighbour in it must have sent this client shares, and at
    /// least t members of the neighbourhood (self included) must survive.
    /// </summary>
    public static ClientAbortReason? CheckSurvivors(ClientContext context, int[] survivors)
    {
        if (Array.BinarySearch(survivors, context.Id) < 0)
        {
            return ClientAbortReason.InconsistentSurvivors;
        }

        int surviving = 0;
        foreach (int s in survivors)
        {
            if (context.HeldShares.ContainsKey(s))
            {
                surviving++;
            }
            else if (context.IsNeighbour(s))
            {
                return ClientAbortReason.InconsistentSurvivors;
            }
        }

        return surviving < context.P.Threshold ? ClientAbortReason.TooFewSurvivors : null;
    }
}
