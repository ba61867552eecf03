using System.ComponentModel.DataAnnotations;

namespace SegmentEngine.Silo.Configuration;

/// <summary>Validates <see cref="EngineOptions"/> at start-up; each problem names its setting.</summary>
public static class EngineOptionsValidator
{
    /// <summary>Every problem found, as "SegmentEngine:Path: message".</summary>
    public static IReadOnlyList<string> Validate(EngineOptions options)
    {
        var problems = new List<string>();
        Check(options, EngineOptions.Section, problems);
        Check(options.Postgres, $"{EngineOptions.Section}:Postgres", problems);
        Check(options.Kafka, $"{EngineOptions.Section}:Kafka", problems);
        Check(options.Cluster, $"{EngineOptions.Section}:Cluster", problems);
        Check(options.Api, $"{EngineOptions.Section}:Api", problems);
        Check(options.Memberships, $"{EngineOptions.Section}:Memberships", problems);
        Check(options.EventLog, $"{EngineOptions.Section}:EventLog", problems);
        for (var i = 0; i < options.Brands.Count; i++)
        {
            Check(options.Brands[i], $"{EngineOptions.Section}:Brands:{i}", problems);
            for (var k = 0; k < options.Brands[i].ApiKeys.Count; k++)
            {
                Check(options.Brands[i].ApiKeys[k], $"{EngineOptions.Section}:Brands:{i}:ApiKeys:{k}", problems);
            }
        }

        foreach (var (name, value) in options.Postgres.EmbeddedSettings)
        {
            if (SegmentEngine.Hosting.Postgres.EmbeddedPostgresOptions.CheckServerSetting(name, value) is { } problem)
            {
                problems.Add($"{EngineOptions.Section}:Postgres:EmbeddedSettings:{name}: {problem}");
            }
        }

        var duplicate = options.Brands.GroupBy(b => b.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            problems.Add($"{EngineOptions.Section}:Brands: brand '{duplicate.Key}' is configured twice");
        }

        if (options.Api.Port != 0 && options.Api.Port == options.Api.HttpPort)
        {
            problems.Add($"{EngineOptions.Section}:Api:HttpPort: must differ from Api:Port");
        }

        if (!string.IsNullOrEmpty(options.ErasureKey))
        {
            try
            {
                if (Convert.FromBase64String(options.ErasureKey).Length < 32)
                {
                    problems.Add($"{EngineOptions.Section}:ErasureKey: must decode to at least 32 bytes");
                }
            }
            catch (FormatException)
            {
                problems.Add($"{EngineOptions.Section}:ErasureKey: is not base64");
            }
        }
        else if (!options.Development)
        {
            problems.Add($"{EngineOptions.Section}:ErasureKey: is required outside development (base64, at least 32 bytes)");
        }

        return problems;
    }

    private static void Check(object target, string path, List<string> problems)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(target, new ValidationContext(target), results, validateAllProperties: true);
        foreach (var result in results)
        {
            foreach (var member in result.MemberNames.DefaultIfEmpty(""))
            {
                problems.Add($"{path}:{member}: {result.ErrorMessage}");
            }
        }
    }
}
