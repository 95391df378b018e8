namespace SecureFedRec.Integration.Tests.Fuzz;

/// <summary>
/// A seeded, deterministic byte mutator in the style of libFuzzer's default mutations: bit flips, "interesting" bytes,
/// truncation, deletion, insertion of random bytes, chunk duplication, splicing with another input, and absurd varints
/// (10-byte, all-ones: an over-long length or a value far outside any field's range). The same seed gives the same
/// sequence, so a failure names its seed and iteration and replays exactly. System.Random is fine here: this is test
/// input, not key material.
/// </summary>
internal sealed class Mutator(int seed)
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x1A, 0x22, 0x08, 0x10];

    private static readonly byte[] HugeVarint = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];

    private readonly Random _random = new(seed);

    public int Next(int bound) => _random.Next(bound);

    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    /// <summary>One byte of <paramref name="input"/> flipped or replaced.</summary>
    public byte[] MutateByte(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        if (bytes.Length > 0)
        {
            int at = _random.Next(bytes.Length);
            bytes[at] = _random.Next(2) == 0 ? (byte)(bytes[at] ^ (1 << _random.Next(8))) : (byte)_random.Next(256);
        }

        return bytes;
    }

    /// <summary>One to four mutations of <paramref name="input"/> (never the input itself unchanged, unless empty).</summary>
    public byte[] Mutate(ReadOnlySpan<byte> input, ReadOnlySpan<byte> other = default)
    {
        var bytes = new List<byte>(input.ToArray());
        int rounds = 1 + _random.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int at = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
            switch (_random.Next(9))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << _random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = Interesting[_random.Next(Interesting.Length)];
                    break;
                case 2 when bytes.Count > 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + _random.Next(16)));
                    break;
                case 4:
                    byte[] noise = new byte[1 + _random.Next(16)];
                    _random.NextBytes(noise);
                    bytes.InsertRange(at, noise);
                    break;
                case 5 when bytes.Count > 0:
                    int length = Math.Min(bytes.Count - at, 1 + _random.Next(64));
                    bytes.InsertRange(_random.Next(bytes.Count), bytes.GetRange(at, length));
                    break;
                case 6 when !other.IsEmpty:
                    int from = _random.Next(other.Length);
                    bytes.RemoveRange(at, bytes.Count - at);
                    bytes.AddRange(other[from..].ToArray());
                    break;
                case 7:
                    bytes.InsertRange(at, HugeVarint);
                    break;
                default:
                    if (bytes.Count > 0)
                    {
                        bytes[at] = (byte)_random.Next(256);
                    }

                    break;
            }
        }

        return [.. bytes];
    }
}
