using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Protocol.Tests")]
[assembly: InternalsVisibleTo("SecureFedRec.Conformance.Tests")]
[assembly: CLSCompliant(false)]
