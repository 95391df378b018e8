using System.Numerics;
using System.Runtime.InteropServices;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>SIMD span kernels (Vector&lt;double&gt;) for the ranking models' inner loops. Pure; thread-safe.</summary>
internal static class Kernels
{
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var n = a.Length;
        var i = 0;
        var acc = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var va = MemoryMarshal.Cast<double, Vector<double>>(a);
            var vb = MemoryMarshal.Cast<double, Vector<double>>(b[..n]);
            for (var v = 0; v < va.Length; v++)
            {
                acc += va[v] * vb[v];
            }

            i = va.Length * Vector<double>.Count;
        }

        var sum = Vector.Sum(acc);
        for (; i < n; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>y += α·x.</summary>
    public static void Axpy(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        var n = x.Length;
        var i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var vx = MemoryMarshal.Cast<double, Vector<double>>(x);
            var vy = MemoryMarshal.Cast<double, Vector<double>>(y[..n]);
            var va = new Vector<double>(alpha);
            for (var v = 0; v < vx.Length; v++)
            {
                vy[v] += va * vx[v];
            }

            i = vx.Length * Vector<double>.Count;
        }

        for (; i < n; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    /// <summary>y = β·y + α·x.</summary>
    public static void Scale(double beta, Span<double> y)
    {
        for (var i = 0; i < y.Length; i++)
        {
            y[i] *= beta;
        }
    }

    public static double NormSquared(ReadOnlySpan<double> x) => Dot(x, x);

    /// <summary>
    /// Replaces the square matrix <paramref name="a"/> (n × n, row-major) in place by the nearest symmetric matrix whose
    /// eigenvalues are all ≥ <paramref name="floor"/>: symmetrise (A + Aᵀ)/2, eigendecompose by cyclic Jacobi rotations
    /// (Golub &amp; Van Loan, §8.5), clamp each eigenvalue to at least the floor, and recompose V·max(Λ, floor)·Vᵀ.
    /// With floor 0 this is the Frobenius-nearest positive semidefinite matrix (Higham 1988). Non-finite entries are
    /// treated as 0. A matrix that already satisfies the floor comes back unchanged up to rounding. O(n³) per sweep;
    /// meant for the k × k Gram matrices of the factor models (k ≤ a few hundred).
    /// </summary>
    public static void ProjectToEigenvalueFloor(Span<double> a, int n, double floor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfNotEqual(a.Length, n * n);
        if (!double.IsFinite(floor))
        {
            throw new ArgumentOutOfRangeException(nameof(floor), floor, "the eigenvalue floor must be finite");
        }

        var m = new double[n * n];
        var scale = 0.0;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var x = a[(i * n) + j];
                var y = a[(j * n) + i];
                m[(i * n) + j] = 0.5 * ((double.IsFinite(x) ? x : 0) + (double.IsFinite(y) ? y : 0));
                scale = Math.Max(scale, Math.Abs(m[(i * n) + j]));
            }
        }

        var v = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            v[(i * n) + i] = 1;
        }

        if (scale > 0)
        {
            JacobiEigen(m, v, n, scale);
        }

        // m now holds the eigenvalues on its diagonal and v the eigenvectors in its columns.
        var lambda = new double[n];
        for (var e = 0; e < n; e++)
        {
            lambda[e] = Math.Max(m[(e * n) + e], floor);
        }

        for (var i = 0; i < n; i++)
        {
            for (var j = i; j < n; j++)
            {
                var s = 0.0;
                for (var e = 0; e < n; e++)
                {
                    s += v[(i * n) + e] * lambda[e] * v[(j * n) + e];
                }

                a[(i * n) + j] = s;
                a[(j * n) + i] = s;
            }
        }
    }

    /// <summary>Cyclic Jacobi: diagonalises the symmetric <paramref name="m"/> in place, accumulating rotations into <paramref name="v"/>.</summary>
    private static void JacobiEigen(double[] m, double[] v, int n, double scale)
    {
        const int MaxSweeps = 64;
        var tolerance = 1e-26 * scale * scale * n * n;
        for (var sweep = 0; sweep < MaxSweeps; sweep++)
        {
            var off = 0.0;
            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    off += m[(p * n) + q] * m[(p * n) + q];
                }
            }

            if (off <= tolerance)
            {
                return;
            }

            for (var p = 0; p < n - 1; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    var apq = m[(p * n) + q];
                    if (Math.Abs(apq) < 1e-300)
                    {
                        continue;
                    }

                    var theta = (m[(q * n) + q] - m[(p * n) + p]) / (2 * apq);
                    var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    if (theta == 0)
                    {
                        t = 1;
                    }

                    var c = 1 / Math.Sqrt((t * t) + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        var mkp = m[(k * n) + p];
                        var mkq = m[(k * n) + q];
                        m[(k * n) + p] = (c * mkp) - (s * mkq);
                        m[(k * n) + q] = (s * mkp) + (c * mkq);
                    }

                    for (var k = 0; k < n; k++)
                    {
                        var mpk = m[(p * n) + k];
                        var mqk = m[(q * n) + k];
                        m[(p * n) + k] = (c * mpk) - (s * mqk);
                        m[(q * n) + k] = (s * mpk) + (c * mqk);
                    }

                    for (var k = 0; k < n; k++)
                    {
                        var vkp = v[(k * n) + p];
                        var vkq = v[(k * n) + q];
                        v[(k * n) + p] = (c * vkp) - (s * vkq);
                        v[(k * n) + q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Solves A x = b in place for symmetric positive definite A (n × n, row-major; destroyed) by Cholesky. Every
    /// squared pivot is clamped to at least <paramref name="minPivot"/>: for A ⪰ λI the pivots are ≥ λ anyway, so
    /// passing λ changes nothing for an exact A and keeps a noised (DP) A from blowing up.
    /// </summary>
    public static void SolveSpd(Span<double> a, Span<double> b, int n, double minPivot = 1e-12)
    {
        for (var j = 0; j < n; j++)
        {
            var d = a[(j * n) + j];
            for (var k = 0; k < j; k++)
            {
                d -= a[(j * n) + k] * a[(j * n) + k];
            }

            d = Math.Sqrt(Math.Max(d, minPivot));
            a[(j * n) + j] = d;
            for (var i = j + 1; i < n; i++)
            {
                var s = a[(i * n) + j] - Dot(a.Slice(i * n, j), a.Slice(j * n, j));
                a[(i * n) + j] = s / d;
            }
        }

        for (var i = 0; i < n; i++)
        {
            b[i] = (b[i] - Dot(a.Slice(i * n, i), b[..i])) / a[(i * n) + i];
        }

        for (var i = n - 1; i >= 0; i--)
        {
            var s = b[i];
            for (var k = i + 1; k < n; k++)
            {
                s -= a[(k * n) + i] * b[k];
            }

            b[i] = s / a[(i * n) + i];
        }
    }
}
