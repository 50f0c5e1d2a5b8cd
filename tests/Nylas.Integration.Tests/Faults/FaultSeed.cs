namespace Nylas.Integration.Tests.Faults;

/// <summary>The seed of a randomised fault run: NYLAS_FAULT_SEED when set (to repeat a run), else a fresh one the test prints.</summary>
public static class FaultSeed
{
    public static int Next()
        => Environment.GetEnvironmentVariable("NYLAS_FAULT_SEED") is { Length: > 0 } text && int.TryParse(text, out int seed)
            ? seed
            : Random.Shared.Next();
}
