namespace SegmentEngine.Cli;

/// <summary>A command line split into positional words and <c>--name value</c> options.</summary>
public sealed class CliArguments
{
    private static readonly HashSet<string> s_flags = new(StringComparer.Ordinal) { "help", "all" };

    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private CliArguments()
    {
    }

    /// <summary>The words that are not options, in order (e.g. <c>segments</c>, <c>create</c>).</summary>
    public List<string> Positionals { get; } = [];

    /// <summary>Parses arguments; <c>--name value</c>, <c>--name=value</c>, flags <c>--help</c>/<c>-h</c>, and <c>--</c> ending options.</summary>
    public static CliArguments Parse(IReadOnlyList<string> args)
    {
        var result = new CliArguments();
        var optionsEnded = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (optionsEnded || !arg.StartsWith('-') || arg == "-")
            {
                result.Positionals.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                optionsEnded = true;
                continue;
            }

            if (arg == "-h")
            {
                result._options["help"] = "true";
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new CliUsageException($"unknown option '{arg}'");
            }

            var name = arg[2..];
            string value;
            var equals = name.IndexOf('=');
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }
            else if (s_flags.Contains(name))
            {
                value = "true";
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new CliUsageException($"option --{name} needs a value");
            }

            if (!result._options.TryAdd(name, value))
            {
                throw new CliUsageException($"option --{name} is given twice");
            }
        }

        return result;
    }

    /// <summary>True when the flag or option was given.</summary>
    public bool Has(string name)
    {
        _used.Add(name);
        return _options.ContainsKey(name);
    }

    /// <summary>The option's value, or null.</summary>
    public string? Get(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out var value) ? value : null;
    }

    /// <summary>The option's value; a usage error when missing or empty.</summary>
    public string Require(string name)
    {
        var value = Get(name);
        return string.IsNullOrEmpty(value) ? throw new CliUsageException($"option --{name} is required") : value;
    }

    /// <summary>The option as a non-negative integer, or the default.</summary>
    public int GetInt(string name, int defaultValue)
    {
        var value = Get(name);
        if (value is null)
        {
            return defaultValue;
        }

        return int.TryParse(value, out var number) && number >= 0
            ? number
            : throw new CliUsageException($"option --{name} must be a non-negative integer");
    }

    /// <summary>Fails on options no command asked for (typos).</summary>
    public void EnsureAllUsed()
    {
        foreach (var name in _options.Keys)
        {
            if (!_used.Contains(name))
            {
                throw new CliUsageException($"unknown option --{name}");
            }
        }
    }
}

/// <summary>A mistake in the command line; printed with the usage and exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);
