using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Crypto.Tests")]
[assembly: CLSCompliant(false)]
[assembly: InternalsVisibleTo("SecureFedRec.Bench")]
[assembly: InternalsVisibleTo("SecureFedRec.Protocol")]
