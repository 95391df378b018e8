using System.CommandLine;

namespace SecureFedRec.Cli;

/// <summary>Entry point of the <c>securefedrec</c> command.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("SecureFedRec: secure aggregation with distributed differential privacy for federated recommendation.");
        return root.Parse(args).Invoke();
    }
}
