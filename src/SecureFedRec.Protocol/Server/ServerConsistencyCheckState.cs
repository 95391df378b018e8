using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Round 3 (malicious mode): collects each survivor's signature over session id ‖ round ‖ U3; a signature that does
/// not verify under the enrolled identity drops its sender. Closing sends each signer the survivor list, the dropped
/// list and the signatures of its surviving neighbours.
/// </summary>
public sealed class ServerConsistencyCheckState : ServerState
{
    private readonly byte[] _signedMessage;

    internal ServerConsistencyCheckState(ServerContext context)
        : base(context) =>
        _signedMessage = Derivations.ConsistencyMessage(context.SessionId, context.Parameters.RoundNumber, context.Survivors);

    /// <inheritdoc />
    public override Phase Phase => Phase.ConsistencyCheck;

    /// <inheritdoc />
    public override ServerTransition Close()
    {
        int[] u4 = Live(Context.Signatures.Keys);
        return u4.Length < Context.Parameters.Threshold
            ? AbortRound(RoundOutcome.AbortedTooFewClients, Context.Survivors)
            : ServerUnmaskingState.Open(Context, u4);
    }

    private protected override ServerStep OnConsistencySignature(int sender, ConsistencySignature message)
    {
        if (message.RoundNumber != Context.Parameters.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "A signature for another round.");
        }

        if (Array.BinarySearch(Context.Survivors, sender) < 0)
        {
            return Reject(ProtocolRejection.SenderNotExpectedInPhase, "The sender is not a survivor.");
        }

        if (Context.Signatures.ContainsKey(sender))
        {
            return Reject(ProtocolRejection.Duplicate, "Duplicate signature.");
        }

        if (message.ClientId != (uint)sender || message.Signature.Length != Primitives.SignatureLength)
        {
            return Drop(sender, DropReason.Malformed);
        }

        if (!Context.Options.EnrolledIdentities!.TryGetValue(sender, out Crypto.IdentityPublicKey identity)
            || !Primitives.Verify(identity, _signedMessage, message.Signature.Span))
        {
            return Drop(sender, DropReason.BadSignature);
        }

        Context.Signatures[sender] = message.Signature;
        Context.Hold(Primitives.SignatureLength);
        return Accept();
    }
}
