# Builds the silo image used by docker-compose.yml.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
# ReadyToRun: precompiled code, so that a started silo is not slowed by JIT compilation while it takes its first load
# (benchmarks/RESULTS.md, "2026-11-30 (third pass)": p99 1.8 s against 3.3 s over a fresh engine's first minute).
RUN dotnet publish src/SegmentEngine.Silo/SegmentEngine.Silo.csproj -c Release -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
EXPOSE 5080 11111 30000
ENTRYPOINT ["dotnet", "SegmentEngine.Silo.dll"]
