using System.Reflection;
using System.Xml.Linq;

namespace SecureFedRec.Wire.Tests;

/// <summary>Dependencies follow use: the client SDK and Wire carry no ASP.NET Core, Wire does not know the recommender.</summary>
public class DependencyTests
{
    private static string RepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    [Theory]
    [InlineData("SecureFedRec.Wire")]
    [InlineData("SecureFedRec.Client")]
    public void Client_side_assemblies_reference_no_aspnetcore(string assembly)
    {
        AssemblyName[] references = Assembly.Load(assembly).GetReferencedAssemblies();
        Assert.DoesNotContain(references, r => r.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.Name == "SecureFedRec.Coordinator");
        XDocument project = XDocument.Load(Path.Combine(RepoRoot(), "src", assembly, assembly + ".csproj"));
        Assert.DoesNotContain(project.Descendants("FrameworkReference"), e => (string?)e.Attribute("Include") == "Microsoft.AspNetCore.App");
    }

    [Fact]
    public void Wire_does_not_reference_the_recommender()
    {
        Assert.DoesNotContain(Assembly.Load("SecureFedRec.Wire").GetReferencedAssemblies(), r => r.Name == "SecureFedRec.Recommender");
        XDocument project = XDocument.Load(Path.Combine(RepoRoot(), "src", "SecureFedRec.Wire", "SecureFedRec.Wire.csproj"));
        Assert.DoesNotContain(project.Descendants("ProjectReference"), e => ((string?)e.Attribute("Include"))?.Contains("Recommender", StringComparison.Ordinal) == true);
    }
}
