namespace SecureFedRec.Recommender.Data;

/// <summary>
/// One explicit rating with dense indices: <see cref="User"/> in [0, users), <see cref="Item"/> in [0, items).
/// <see cref="Timestamp"/> is the source's timestamp (seconds since the epoch for MovieLens), or the line order when the
/// source has none. Immutable value type; thread-safe.
/// </summary>
public readonly record struct Rating(int User, int Item, float Value, long Timestamp);
