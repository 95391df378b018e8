using Google.Protobuf;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Tests;

/// <summary>A client that sends malformed input is dropped with the right reason; the round still completes without it.</summary>
public class MalformedClientTests
{
    public enum Fault
    {
        MaskedVectorTooShort,
        MaskedVectorWordOutOfRange,
        MaskedInputWrongClientId,
        AdvertiseKeyWrongLength,
        AdvertiseBadSignature,
        AdvertiseRepeatsAnotherClientsKey,
        ShareMissingOne,
        ShareCiphertextWrongLength,
        ConsistencyBadSignature,
        UnmaskingWrongShareKind,
        UnmaskingShareWrongLength,
    }

    [Theory]
    [InlineData(Fault.MaskedVectorTooShort, DropReason.Malformed, false)]
    [InlineData(Fault.MaskedVectorWordOutOfRange, DropReason.Malformed, false)]
    [InlineData(Fault.MaskedInputWrongClientId, DropReason.Malformed, false)]
    [InlineData(Fault.AdvertiseKeyWrongLength, DropReason.Malformed, false)]
    [InlineData(Fault.AdvertiseBadSignature, DropReason.BadSignature, false)]
    [InlineData(Fault.AdvertiseRepeatsAnotherClientsKey, DropReason.BadKey, false, false)]
    [InlineData(Fault.ShareMissingOne, DropReason.Malformed, false)]
    [InlineData(Fault.ShareCiphertextWrongLength, DropReason.Malformed, false)]
    [InlineData(Fault.ConsistencyBadSignature, DropReason.BadSignature, true)]
    [InlineData(Fault.UnmaskingWrongShareKind, DropReason.BadShare, true)]
    [InlineData(Fault.UnmaskingShareWrongLength, DropReason.BadShare, true)]
    public void Malformed_input_drops_the_sender_and_the_round_completes(Fault fault, DropReason reason, bool contributes, bool malicious = true)
    {
        const int bad = 3;
        uint[][] inputs = TestSupport.RandomInputs(6, 10, 12, 11);
        ByteString? firstKey = null;
        ClientToServer? Tamper(int id, ClientToServer m)
        {
            if (m.MessageCase == ClientToServer.MessageOneofCase.AdvertiseKeys && id == 1)
            {
                firstKey = m.AdvertiseKeys.Keys.MaskPublicKey;
            }

            if (id != bad)
            {
                return m;
            }

            var copy = m.Clone();
            switch (fault, copy.MessageCase)
            {
                case (Fault.MaskedVectorTooShort, ClientToServer.MessageOneofCase.MaskedInput):
                    copy.MaskedInput.MaskedVector = ByteString.CopyFrom(copy.MaskedInput.MaskedVector.Span[..^4]);
                    break;
                case (Fault.MaskedVectorWordOutOfRange, ClientToServer.MessageOneofCase.MaskedInput):
                    byte[] vector = copy.MaskedInput.MaskedVector.ToByteArray();
                    vector[3] = 0x80; // word 0 ≥ 2^12
                    copy.MaskedInput.MaskedVector = ByteString.CopyFrom(vector);
                    break;
                case (Fault.MaskedInputWrongClientId, ClientToServer.MessageOneofCase.MaskedInput):
                    copy.MaskedInput.ClientId = 4;
                    break;
                case (Fault.AdvertiseKeyWrongLength, ClientToServer.MessageOneofCase.AdvertiseKeys):
                    copy.AdvertiseKeys.Keys.CipherPublicKey = ByteString.CopyFrom(new byte[31]);
                    break;
                case (Fault.AdvertiseBadSignature, ClientToServer.MessageOneofCase.AdvertiseKeys):
                    byte[] sig = copy.AdvertiseKeys.Keys.Signature.ToByteArray();
                    sig[10] ^= 1;
                    copy.AdvertiseKeys.Keys.Signature = ByteString.CopyFrom(sig);
                    break;
                case (Fault.AdvertiseRepeatsAnotherClientsKey, ClientToServer.MessageOneofCase.AdvertiseKeys):
                    copy.AdvertiseKeys.Keys.MaskPublicKey = firstKey ?? throw new InvalidOperationException("client 1 has not advertised yet");
                    break;
                case (Fault.ShareMissingOne, ClientToServer.MessageOneofCase.ShareKeys):
                    copy.ShareKeys.Shares.RemoveAt(0);
                    break;
                case (Fault.ShareCiphertextWrongLength, ClientToServer.MessageOneofCase.ShareKeys):
                    copy.ShareKeys.Shares[1].Ciphertext = ByteString.CopyFrom(new byte[5]);
                    break;
                case (Fault.ConsistencyBadSignature, ClientToServer.MessageOneofCase.ConsistencySignature):
                    byte[] s2 = copy.ConsistencySignature.Signature.ToByteArray();
                    s2[0] ^= 0x40;
                    copy.ConsistencySignature.Signature = ByteString.CopyFrom(s2);
                    break;
                case (Fault.UnmaskingWrongShareKind, ClientToServer.MessageOneofCase.Unmasking):
                    copy.Unmasking.Shares[0].Kind = ShareKind.MaskPrivateKey;
                    break;
                case (Fault.UnmaskingShareWrongLength, ClientToServer.MessageOneofCase.Unmasking):
                    copy.Unmasking.Shares[0].Value = ByteString.CopyFrom(new byte[32]);
                    break;
            }

            return copy;
        }

        using var rng = Crypto.DeterministicRandomSource.FromTestSeed(5);
        // One worker: clients then answer in id order, so client 1's key is recorded before client 3 repeats it.
        SecAggOutcome outcome = InProcessRound.Run(new SecAggConfig(6, 4, 10, 12, malicious ? ThreatMode.Malicious : ThreatMode.HonestButCurious, Threads: 1), inputs,
            new RoundOptions { Random = rng, TamperClientMessage = Tamper });

        Assert.Equal(reason, outcome.Drops[bad]);
        Assert.True(outcome.Completed, outcome.Outcome.ToString());
        int[] expected = contributes ? [1, 2, 3, 4, 5, 6] : [1, 2, 4, 5, 6];
        Assert.Equal(expected, outcome.Contributors);
        Assert.Equal(TestSupport.ExpectedSum(inputs, expected, 12), outcome.Sum);
    }
}
