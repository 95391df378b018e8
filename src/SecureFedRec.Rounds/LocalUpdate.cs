namespace SecureFedRec.Rounds;

/// <summary>
/// A client's local update for one round: either its total (length d; per institution, clipped to the round's clip by
/// the encoder) or, for per-user privacy, one vector per user (each clipped to the user clip, then summed and clipped
/// to m·C by the encoder). Supplying a total under per-user privacy makes the update source responsible for having
/// clipped each user to C and summed at most m users.
/// </summary>
public sealed class LocalUpdate
{
    private readonly double[]? _total;

    private LocalUpdate(double[]? total, IReadOnlyList<double[]>? users)
    {
        _total = total;
        Users = users;
    }

    /// <summary>Per-user vectors, or null.</summary>
    public IReadOnlyList<double[]>? Users { get; }

    /// <summary>An update given as its total.</summary>
    public static LocalUpdate FromTotal(double[] total)
    {
        ArgumentNullException.ThrowIfNull(total);
        return new LocalUpdate(total, null);
    }

    /// <summary>An update given as one vector per user.</summary>
    public static LocalUpdate FromUsers(IReadOnlyList<double[]> users)
    {
        ArgumentNullException.ThrowIfNull(users);
        return new LocalUpdate(null, users);
    }

    /// <summary>The total (length <paramref name="dimension"/>), summing users when given per user.</summary>
    /// <exception cref="ArgumentException">A vector of the wrong length.</exception>
    public double[] Total(int dimension)
    {
        if (_total is not null)
        {
            return _total.Length == dimension ? _total
                : throw new ArgumentException($"The update has {_total.Length} values; the round has {dimension}.");
        }

        var sum = new double[dimension];
        foreach (double[] u in Users!)
        {
            if (u.Length != dimension)
            {
                throw new ArgumentException($"A user update has {u.Length} values; the round has {dimension}.");
            }

            for (int i = 0; i < dimension; i++)
            {
                sum[i] += u[i];
            }
        }

        return sum;
    }
}
