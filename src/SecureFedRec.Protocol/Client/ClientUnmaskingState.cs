using Google.Protobuf;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// Round 4 (Bonawitz Fig. 4 "Unmasking"): accepts the survivor and dropped lists (and, in malicious mode, at least t−1
/// valid consistency signatures of surviving neighbours over the list it signed), and reveals for every neighbour that
/// sent it shares exactly one share: the self-seed share if it survived, the mask-key share if it dropped. A client
/// named in both lists, a list that differs from the signed one, or a neighbour accounted for in neither aborts the
/// client before anything is revealed.
/// </summary>
public sealed class ClientUnmaskingState : ClientState
{
    internal ClientUnmaskingState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.Unmasking;

    private protected override ClientStep OnUnmaskingRequest(UnmaskingRequest message)
    {
        SecAggParameters p = Context.P;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Abort(ClientAbortReason.WrongSession);
        }

        if (!ClientChecks.TryReadIds(message.Survivors, p, out int[]? survivors)
            || !ClientChecks.TryReadIds(message.Dropped, p, out int[]? dropped))
        {
            return Abort(ClientAbortReason.UnknownOrDuplicateClient);
        }

        // Both lists are strictly ascending (TryReadIds), so membership is a binary search: no per-client set of n ids.
        if (dropped.Any(d => IsIn(survivors, d)))
        {
            return Abort(ClientAbortReason.ConflictingShareRequest);
        }

        if (p.IsMalicious)
        {
            if (Context.SignedSurvivors is null || !survivors.AsSpan().SequenceEqual(Context.SignedSurvivors))
            {
                return Abort(ClientAbortReason.InconsistentSurvivors);
            }

            byte[] signed = Derivations.ConsistencyMessage(Context.SessionId, p.RoundNumber, survivors);
            int valid = 1; // this client's own signature over the same list
            uint previous = 0;
            foreach (SurvivorSignature signature in message.Signatures)
            {
                int id = (int)Math.Min(signature.ClientId, int.MaxValue);
                if (signature.ClientId <= previous || id == ClientId || !IsIn(survivors, id) || !Context.IsNeighbour(id))
                {
                    return Abort(ClientAbortReason.UnknownOrDuplicateClient);
                }

                previous = signature.ClientId;
                if (!Context.Options.EnrolledIdentities!.TryGetValue(id, out Crypto.IdentityPublicKey identity)
                    || !Primitives.Verify(identity, signed, signature.Signature.Span))
                {
                    return Abort(ClientAbortReason.BadSignature);
                }

                valid++;
            }

            if (valid < p.Threshold)
            {
                return Abort(ClientAbortReason.TooFewSurvivors);
            }
        }
        else if (message.Signatures.Count != 0)
        {
            return Abort(ClientAbortReason.MalformedMessage);
        }
        else if (ClientChecks.CheckSurvivors(Context, survivors) is { } problem)
        {
            return Abort(problem);
        }

        // Every neighbour that sent shares must be in exactly one list; dropped neighbours must have sent shares.
        foreach (int owner in Context.HeldShares.Keys)
        {
            if (owner != ClientId && !IsIn(survivors, owner) && !IsIn(dropped, owner))
            {
                return Abort(ClientAbortReason.InconsistentSurvivors);
            }
        }

        foreach (int d in dropped)
        {
            if (Context.IsNeighbour(d) && !Context.HeldShares.ContainsKey(d))
            {
                return Abort(ClientAbortReason.InconsistentSurvivors);
            }
        }

        var response = new UnmaskingResponse { RoundNumber = p.RoundNumber, ClientId = (uint)ClientId };
        foreach ((int owner, (byte[] seedShare, byte[] keyShare)) in Context.HeldShares)
        {
            bool survived = IsIn(survivors, owner);
            response.Shares.Add(new RevealedShare
            {
                OwnerId = (uint)owner,
                Kind = survived ? ShareKind.SelfMaskSeed : ShareKind.MaskPrivateKey,
                Value = ByteString.CopyFrom(survived ? seedShare : keyShare),
            });
        }

        Context.Dispose();
        return Next(new ClientCompletedState(Context), new ClientToServer { Unmasking = response });
    }

    private static bool IsIn(int[] ascending, int id) => Array.BinarySearch(ascending, id) >= 0;
}
