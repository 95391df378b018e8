using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Recommender.Tests")]
[assembly: CLSCompliant(false)]
