using Google.Protobuf;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// Round 0 (Bonawitz Fig. 4 "AdvertiseKeys"): accepts the round parameters, checks them against the client's policy,
/// generates the share-encryption key pair c_u, the mask-agreement key pair s_u, the self-mask seed b_u and (Harary graphs)
/// the relabelling seed r_u, and advertises the public keys with the commitment to r_u (signed by the enrolled identity in
/// malicious mode).
/// </summary>
public sealed class ClientAdvertiseKeysState : ClientState
{
    internal ClientAdvertiseKeysState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.AdvertiseKeys;

    private protected override ClientStep OnBeginRound(BeginRound message)
    {
        if (!SecAggParameters.TryFromWire(message.Parameters, out SecAggParameters? parameters, out _)
            || !parameters.Contains(ClientId))
        {
            return Abort(ClientAbortReason.InvalidParameters);
        }

        if (Context.Options.Policy?.Invoke(parameters) is not null)
        {
            Context.Parameters = parameters;
            return Abort(ClientAbortReason.InvalidParameters);
        }

        if (parameters.IsMalicious && (Context.Options.Identity is null || Context.Options.EnrolledIdentities is null))
        {
            Context.Parameters = parameters;
            return Abort(ClientAbortReason.InvalidParameters);
        }

        Context.Parameters = parameters;
        Context.CipherKey = Primitives.GenerateKey(parameters.Suite, Context.Rng);
        Context.MaskKey = Primitives.GenerateKey(parameters.Suite, Context.Rng);
        Context.CipherPublicKey = Primitives.PublicKeyOf(Context.CipherKey);
        Context.MaskPublicKey = Primitives.PublicKeyOf(Context.MaskKey);
        Context.Rng.Fill(Context.SelfSeed);
        if (parameters.UsesRelabelling)
        {
            Context.Rng.Fill(Context.RelabelSeed);
            Context.RelabelCommitment = Derivations.RelabelCommitment(parameters.Digest, ClientId, Context.RelabelSeed);
        }

        var keys = new AdvertisedKey
        {
            ClientId = (uint)ClientId,
            CipherPublicKey = ByteString.CopyFrom(Context.CipherPublicKey),
            MaskPublicKey = ByteString.CopyFrom(Context.MaskPublicKey),
            RelabelCommitment = Context.RelabelCommitment is null ? ByteString.Empty : ByteString.CopyFrom(Context.RelabelCommitment),
        };
        if (parameters.IsMalicious)
        {
            byte[] signed = Derivations.AdvertiseMessage(parameters.Digest, ClientId, Context.CipherPublicKey, Context.MaskPublicKey,
                Context.RelabelCommitment);
            keys.Signature = ByteString.CopyFrom(Primitives.Sign(Context.Options.Identity!, signed));
        }

        var reply = new ClientToServer
        {
            AdvertiseKeys = new AdvertiseKeys { RoundNumber = parameters.RoundNumber, Keys = keys },
        };
        return parameters.UsesRelabelling
            ? Next(new ClientRelabelRevealState(Context), reply)
            : Next(new ClientShareKeysState(Context), reply);
    }
}
