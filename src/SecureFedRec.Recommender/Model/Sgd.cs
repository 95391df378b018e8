namespace SecureFedRec.Recommender.Model;

/// <summary>
/// One SGD step of biased MF on the per-rating loss
/// L = ½(r − μ − b_u − b_i − ⟨p_u, q_i⟩)² + ½λ(b_u² + b_i² + ‖p_u‖² + ‖q_i‖²):
/// every parameter moves by −η·∂L/∂θ evaluated at the old values (p_u and q_i updated simultaneously).
/// μ moves by η·e·muRate when muRate is positive (federated training learns μ; it is not regularized).
/// </summary>
internal static class Sgd
{
    public static double Step(
        ref double mu, ref double userBias, ref double itemBias, Span<double> p, Span<double> q,
        double rating, double learningRate, double regularization, double muRate)
    {
        var error = rating - (mu + userBias + itemBias + MatrixFactorizationModel.Dot(p, q));
        userBias += learningRate * (error - (regularization * userBias));
        itemBias += learningRate * (error - (regularization * itemBias));
        for (var f = 0; f < p.Length; f++)
        {
            var pf = p[f];
            var qf = q[f];
            p[f] = pf + (learningRate * ((error * qf) - (regularization * pf)));
            q[f] = qf + (learningRate * ((error * pf) - (regularization * qf)));
        }

        if (muRate > 0)
        {
            mu += learningRate * muRate * error;
        }

        return error;
    }
}
