using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Bench.Tests")]
[assembly: CLSCompliant(false)]
